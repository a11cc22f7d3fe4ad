//===- ConvertMatmulsToMmaKernels.cpp - f16/bf16 matmuls on tensor cores --===//
//
// Kiln's tensor-core matmul generator for sm_80+ (mma.sync m16n8k16, f32
// accumulators). Upstream's transform.nvgpu.rewrite_matmul_as_mma_sync
// handles only f16 -> f16 and tf32, on a matmul that is already one warp's
// tile, so the kernel is built here, op by op:
//
//   block tile 64x64 (grid x over N, y over M, z over the batch), 128
//   threads = 2x2 warps of 32x32 = 2x4 fragments of m16n8k16;
//   K in tiles of 32, copied to shared memory with 16-byte cp.async into
//   two stages: tile k+1 is in flight while tile k is multiplied;
//   A fragments by ldmatrix.x4 from [m][k] rows, B fragments by
//   ldmatrix.x2.trans from [k][n] rows (B is K-major, the layout
//   kiln-convert-kiln-to-linalg gives matmul operands);
//   accumulators start from C (the generic accumulates into its init).
//
// Fragment layouts follow the PTX ISA's tables for mma.m16n8k16 (lane l
// holds C rows l/4 and l/4+8, columns 2*(l%4) and 2*(l%4)+1).
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTMATMULSTOMMAKERNELS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 32;
constexpr int64_t kThreads = 128, kStages = 2;

/// What a claimed matmul generic reads and writes.
struct Matmul {
  linalg::GenericOp op;
  Value a, b, c;            // memrefs
  bool batched = false;     // A and C have a leading batch dimension
  bool bBatched = false;    // B has it too (else shared by every batch)
  int64_t batch = 1, m = 0, n = 0, k = 0;
  Type elementType;         // f16 or bf16
};

/// `map`'s results as loop dimension positions, if it is a projected
/// permutation.
std::optional<SmallVector<unsigned>> dims(AffineMap map) {
  if (!map.isProjectedPermutation())
    return std::nullopt;
  SmallVector<unsigned> result;
  for (AffineExpr e : map.getResults())
    result.push_back(cast<AffineDimExpr>(e).getPosition());
  return result;
}

/// The body computes out + ext(a) * ext(b) in f32.
bool isExtMulAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || body.getOperations().size() != 5)
    return false;
  Value out = body.getArgument(2), product;
  if (add.getLhs() == out)
    product = add.getRhs();
  else if (add.getRhs() == out)
    product = add.getLhs();
  else
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  auto extOf = [&](Value v) -> Value {
    auto ext = v.getDefiningOp<arith::ExtFOp>();
    return ext ? ext.getIn() : Value();
  };
  Value x = extOf(mul.getLhs()), y = extOf(mul.getRhs());
  return x && y &&
         ((x == body.getArgument(0) && y == body.getArgument(1)) ||
          (x == body.getArgument(1) && y == body.getArgument(0)));
}

std::optional<Matmul> match(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() != 1 ||
      !isExtMulAdd(op))
    return std::nullopt;
  Matmul mm;
  mm.op = op;
  mm.a = op.getDpsInputs()[0];
  mm.b = op.getDpsInputs()[1];
  mm.c = op.getDpsInits()[0];
  auto typeOf = [](Value v) { return cast<MemRefType>(v.getType()); };
  for (Value v : {mm.a, mm.b, mm.c})
    if (!typeOf(v).getLayout().isIdentity() || !typeOf(v).hasStaticShape())
      return std::nullopt;
  mm.elementType = typeOf(mm.a).getElementType();
  if (!(mm.elementType.isF16() || mm.elementType.isBF16()) ||
      typeOf(mm.b).getElementType() != mm.elementType ||
      !typeOf(mm.c).getElementType().isF32())
    return std::nullopt;

  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto da = dims(maps[0]), db = dims(maps[1]), dc = dims(maps[2]);
  if (!da || !db || !dc)
    return std::nullopt;
  // A [b?, m, k], B [b?, k, n], C [b?, m, n].
  unsigned loops = op.getNumLoops();
  mm.batched = da->size() == 3;
  mm.bBatched = db->size() == 3;
  if (da->size() != dc->size() || da->size() < 2 || da->size() > 3 ||
      db->size() < 2 || db->size() > da->size() ||
      loops != da->size() + 1)
    return std::nullopt;
  unsigned off = mm.batched ? 1 : 0, offB = mm.bBatched ? 1 : 0;
  unsigned dm = (*da)[off], dk = (*da)[off + 1], dn = (*dc)[off + 1];
  if ((*dc)[off] != dm || (*db)[offB] != dk || (*db)[offB + 1] != dn)
    return std::nullopt;
  if (mm.batched && ((*dc)[0] != (*da)[0] ||
                     (mm.bBatched && (*db)[0] != (*da)[0])))
    return std::nullopt;
  if (op.getIteratorTypesArray()[dk] != utils::IteratorType::reduction)
    return std::nullopt;
  ArrayRef<int64_t> cShape = typeOf(mm.c).getShape();
  mm.batch = mm.batched ? cShape[0] : 1;
  mm.m = cShape[off];
  mm.n = cShape[off + 1];
  mm.k = typeOf(mm.a).getShape()[off + 1];
  if (mm.m % kTileM || mm.n % kTileN || mm.k % kTileK)
    return std::nullopt;
  return mm;
}

/// Builds the kernel of one matmul inside a gpu.launch body.
class KernelBuilder {
public:
  KernelBuilder(ImplicitLocOpBuilder &b, const Matmul &mm, gpu::LaunchOp launch)
      : b(b), mm(mm) {
    as = launch.getWorkgroupAttributions()[0];
    bs = launch.getWorkgroupAttributions()[1];
    tid = launch.getThreadIds().x;
    Value bn = mul(launch.getBlockIds().x, kTileN);
    Value bm = mul(launch.getBlockIds().y, kTileM);
    batchIndex = launch.getBlockIds().z;
    Value warp = div(tid, 32);
    lane = rem(tid, 32);
    rowBase = add(bm, mul(div(warp, 2), 32)); // this warp's first C row
    colBase = add(bn, mul(rem(warp, 2), 32)); // and column
    this->bm = bm;
    this->bn = bn;
  }

  void build() {
    Type f32 = b.getF32Type();
    auto accType = VectorType::get({2, 2}, f32);
    Value zero = arith::ConstantOp::create(b, b.getZeroAttr(accType));
    Value group = issue(idx(0), idx(0));

    // Accumulators start from C.
    Value g = div(lane, 4), t2 = mul(rem(lane, 4), 2);
    SmallVector<Value> acc;
    for (int64_t mi = 0; mi < 2; ++mi)
      for (int64_t ni = 0; ni < 4; ++ni) {
        Value row = add(add(rowBase, idx(mi * 16)), g);
        Value col = add(add(colBase, idx(ni * 8)), t2);
        Value v = zero;
        for (int64_t h = 0; h < 2; ++h) {
          Value pair = vector::LoadOp::create(
              b, VectorType::get({2}, f32), mm.c,
              cIndices(add(row, idx(h * 8)), col));
          v = vector::InsertOp::create(b, pair, v, ArrayRef<int64_t>{h});
        }
        acc.push_back(v);
      }

    int64_t kTiles = mm.k / kTileK;
    auto loop = scf::ForOp::create(b, idx(0), idx(kTiles - 1), idx(1), acc);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kt = loop.getInductionVar();
      Value next = add(kt, idx(1));
      Value pending = issue(next, rem(next, 2));
      nvgpu::DeviceAsyncWaitOp::create(b, pending, b.getI32IntegerAttr(1));
      gpu::BarrierOp::create(b);
      SmallVector<Value> updated =
          compute(rem(kt, 2), llvm::to_vector_of<Value>(loop.getRegionIterArgs()));
      gpu::BarrierOp::create(b);
      scf::YieldOp::create(b, updated);
    }
    nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
    gpu::BarrierOp::create(b);
    acc = compute(idx((kTiles - 1) % kStages),
                  llvm::to_vector_of<Value>(loop.getResults()));

    int64_t i = 0;
    for (int64_t mi = 0; mi < 2; ++mi)
      for (int64_t ni = 0; ni < 4; ++ni, ++i) {
        Value row = add(add(rowBase, idx(mi * 16)), g);
        Value col = add(add(colBase, idx(ni * 8)), t2);
        for (int64_t h = 0; h < 2; ++h) {
          Value pair =
              vector::ExtractOp::create(b, acc[i], ArrayRef<int64_t>{h});
          vector::StoreOp::create(b, pair, mm.c,
                                  cIndices(add(row, idx(h * 8)), col));
        }
      }
  }

private:
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value mul(Value x, int64_t y) { return arith::MulIOp::create(b, x, idx(y)); }
  Value div(Value x, int64_t y) { return arith::DivUIOp::create(b, x, idx(y)); }
  Value rem(Value x, int64_t y) { return arith::RemUIOp::create(b, x, idx(y)); }

  SmallVector<Value> cIndices(Value row, Value col) {
    if (mm.batched)
      return {batchIndex, row, col};
    return {row, col};
  }

  /// Starts the copies of K tile `kt` into `stage`; returns their group.
  Value issue(Value kt, Value stage) {
    Value k0 = mul(kt, kTileK);
    SmallVector<Value> tokens;
    // 64x32 A and 32x64 B elements = 256 chunks of 8 each; 2 per thread.
    issueTile(stage, as, mm.a, mm.batched, bm, k0, kTileM, kTileK, tokens);
    issueTile(stage, bs, mm.b, mm.bBatched, k0, bn, kTileK, kTileN, tokens);
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  }

  /// Starts the copies of the `rows` x `cols` tile of `src` at (`row0`,
  /// `col0`) into `stage` of `dst`, chunks of 8 elements spread over the
  /// threads; appends their tokens.
  void issueTile(Value stage, Value dst, Value src, bool batched, Value row0,
                 Value col0, int64_t rows, int64_t cols,
                 SmallVector<Value> &tokens) {
    for (int64_t j = 0; j < rows * cols / 8 / kThreads; ++j) {
      Value chunk = add(tid, idx(j * kThreads));
      Value r = div(chunk, cols / 8), col = mul(rem(chunk, cols / 8), 8);
      SmallVector<Value> srcIdx = {add(row0, r), add(col0, col)};
      if (batched)
        srcIdx.insert(srcIdx.begin(), batchIndex);
      tokens.push_back(copy(dst, {stage, r, col}, src, srcIdx));
    }
  }

  Value copy(Value dst, SmallVector<Value> dstIdx, Value src,
             SmallVector<Value> srcIdx) {
    return nvgpu::DeviceAsyncCopyOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst, dstIdx, src,
        srcIdx, b.getIndexAttr(8), /*srcElements=*/Value(),
        /*bypassL1=*/b.getUnitAttr());
  }

  /// The 2x4 fragments of this warp over both k16 steps of one stage.
  SmallVector<Value> compute(Value stage, SmallVector<Value> acc) {
    Type e = mm.elementType;
    Value lane16 = rem(lane, 16), laneHalf = mul(div(lane, 16), 8);
    Value warpRow = sub(rowBase, bm), warpCol = sub(colBase, bn);
    for (int64_t ks = 0; ks < kTileK / 16; ++ks) {
      SmallVector<Value> aFrag, bFrag;
      for (int64_t mi = 0; mi < 2; ++mi)
        aFrag.push_back(nvgpu::LdMatrixOp::create(
            b, VectorType::get({4, 2}, e), as,
            ValueRange{stage, add(add(warpRow, idx(mi * 16)), lane16),
                       add(idx(ks * 16), laneHalf)},
            /*transpose=*/false, /*numTiles=*/4));
      for (int64_t ni = 0; ni < 4; ++ni)
        bFrag.push_back(nvgpu::LdMatrixOp::create(
            b, VectorType::get({2, 2}, e), bs,
            ValueRange{stage, add(idx(ks * 16), lane16),
                       add(warpCol, idx(ni * 8))},
            /*transpose=*/true, /*numTiles=*/2));
      for (int64_t mi = 0; mi < 2; ++mi)
        for (int64_t ni = 0; ni < 4; ++ni)
          acc[mi * 4 + ni] = mma(aFrag[mi], bFrag[ni], acc[mi * 4 + ni]);
    }
    return acc;
  }

  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }

  Value mma(Value a, Value bv, Value c) {
    if (mm.elementType.isF16())
      return nvgpu::MmaSyncOp::create(b, a, bv, c,
                                      ArrayRef<int64_t>{16, 8, 16});
    // MLIR 22.1's nvgpu.mma.sync cannot deduce bf16 PTX types: emit
    // nvvm.mma.sync on registers of two bf16 each.
    auto regs = [&](Value v, int64_t n) {
      SmallVector<Value> out;
      for (int64_t i = 0; i < n; ++i) {
        Value row = vector::ExtractOp::create(b, v, ArrayRef<int64_t>{i});
        Value word = vector::BitCastOp::create(
            b, VectorType::get({1}, b.getI32Type()), row);
        out.push_back(
            vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
      }
      return out;
    };
    SmallVector<Value> cRegs;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j)
        cRegs.push_back(
            vector::ExtractOp::create(b, c, ArrayRef<int64_t>{i, j}));
    Type f32 = b.getF32Type();
    auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                   {f32, f32, f32, f32});
    Value d = NVVM::MmaOp::create(
        b, result, regs(a, 4), regs(bv, 2), cRegs, ArrayRef<int64_t>{16, 8, 16},
        std::nullopt, std::nullopt,
        std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                      NVVM::MMATypes::bf16},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    Value out = c;
    for (int64_t i = 0; i < 4; ++i) {
      Value x = LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i});
      out = vector::InsertOp::create(b, x, out,
                                     ArrayRef<int64_t>{i / 2, i % 2});
    }
    return out;
  }

  ImplicitLocOpBuilder &b;
  const Matmul &mm;
  Value as, bs, tid, lane, bm, bn, rowBase, colBase, batchIndex;
};

struct ConvertMatmulsToMmaKernelsPass
    : kiln::impl::ConvertMatmulsToMmaKernelsBase<
          ConvertMatmulsToMmaKernelsPass> {
  void runOnOperation() override {
    SmallVector<Matmul> matmuls;
    getOperation().walk([&](linalg::GenericOp op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      auto func = op->getParentOfType<func::FuncOp>();
      if (!func || !func.isPublic() || op->getParentOp() != func)
        return;
      if (std::optional<Matmul> mm = match(op))
        matmuls.push_back(*mm);
    });
    for (Matmul &mm : matmuls) {
      ImplicitLocOpBuilder b(mm.op.getLoc(), mm.op);
      auto idx = [&](int64_t v) -> Value {
        return arith::ConstantIndexOp::create(b, v);
      };
      auto smem = gpu::AddressSpaceAttr::get(b.getContext(),
                                             gpu::AddressSpace::Workgroup);
      auto aTile = MemRefType::get({kStages, kTileM, kTileK}, mm.elementType,
                                   MemRefLayoutAttrInterface(), smem);
      auto bTile = MemRefType::get({kStages, kTileK, kTileN}, mm.elementType,
                                   MemRefLayoutAttrInterface(), smem);
      auto launch = gpu::LaunchOp::create(
          b, idx(mm.n / kTileN), idx(mm.m / kTileM), idx(mm.batch),
          idx(kThreads), idx(1), idx(1), /*dynamicSharedMemorySize=*/nullptr,
          /*asyncTokenType=*/nullptr, ValueRange{}, TypeRange{aTile, bTile});
      b.setInsertionPointToStart(&launch.getBody().front());
      KernelBuilder(b, mm, launch).build();
      gpu::TerminatorOp::create(b);
      mm.op.erase();
    }
  }
};

} // namespace
