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
// holds C rows l/4 and l/4+8, columns 2*(l%4) and 2*(l%4)+1). The
// fragment reads, the mma and the two-stage K loop are MmaSync.h's,
// shared with the quantized linear generator.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "IndexArithmetic.h"
#include "MmaSync.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
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
constexpr llvm::StringLiteral kWgmmaPredicateName = "kiln_gpu_arch_has_wgmma";

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
class KernelBuilder : kiln::IndexArithmetic {
public:
  /// The 64x64 tile of C at (`bm`, `bn`), staged through `as`
  /// ([2][64][32]) and `bs` ([2][32][64]) in shared memory.
  KernelBuilder(ImplicitLocOpBuilder &b, const Matmul &mm, Value as, Value bs,
                Value tid, Value bm, Value bn, Value batchIndex)
      : IndexArithmetic(b), b(b), mm(mm), as(as), bs(bs), tid(tid),
        batchIndex(batchIndex) {
    Value warp = div(tid, 32);
    lane = rem(tid, 32);
    rowBase = add(bm, mul(div(warp, 2), 32)); // this warp's first C row
    colBase = add(bn, mul(rem(warp, 2), 32)); // and column
    this->bm = bm;
    this->bn = bn;
  }

  void build() {
    Type f32 = b.getF32Type();
    Value g = div(lane, 4), t2 = mul(rem(lane, 4), 2);
    // Accumulators start from C.
    auto init = [&] {
      auto accType = VectorType::get({2, 2}, f32);
      Value zero = arith::ConstantOp::create(b, b.getZeroAttr(accType));
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
      return acc;
    };
    SmallVector<Value> acc = kiln::buildTwoStageKLoop(
        b, mm.k / kTileK,
        [&](Value kt, Value stage) { return issue(kt, stage); }, init,
        [&](Value stage, SmallVector<Value> acc) {
          return compute(stage, std::move(acc));
        });

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
    kiln::MmaSyncWarp warp(b, mm.elementType, lane);
    Value warpRow = sub(rowBase, bm), warpCol = sub(colBase, bn);
    for (int64_t ks = 0; ks < kTileK / 16; ++ks) {
      SmallVector<Value> aFrag, bFrag;
      for (int64_t mi = 0; mi < 2; ++mi)
        aFrag.push_back(warp.loadA(as, stage, add(warpRow, idx(mi * 16)),
                                   idx(ks * 16)));
      for (int64_t ni = 0; ni < 4; ++ni)
        bFrag.push_back(warp.loadB(bs, stage, idx(ks * 16),
                                   add(warpCol, idx(ni * 8)),
                                   kiln::MmaTileLayout::KRows));
      for (int64_t mi = 0; mi < 2; ++mi)
        for (int64_t ni = 0; ni < 4; ++ni)
          acc[mi * 4 + ni] =
              warp.mma(aFrag[mi], bFrag[ni], acc[mi * 4 + ni]);
    }
    return acc;
  }

  ImplicitLocOpBuilder &b;
  const Matmul &mm;
  Value as, bs, tid, lane, bm, bn, rowBase, colBase, batchIndex;
};

// The sm_90a variant: one warpgroup (128 threads) per 64x128 tile of C,
// K tiles of 64 staged by cp.async into two stages of 128-byte-swizzled
// shared memory, 4 wgmma.mma_async m64n128k16 per K tile.
constexpr int64_t kWgTileM = 64, kWgTileN = 128, kWgTileK = 64;
constexpr int64_t kWgStages = 2;
// Bytes of one stage: A [64 m][64 k] (K-major: 64 rows of 128 bytes), then
// B as two [64 k][64 n] blocks (N-major: each 64 rows of 128 bytes).
constexpr int64_t kWgABytes = kWgTileM * kWgTileK * 2;
constexpr int64_t kWgBBlockBytes = kWgTileK * 64 * 2;
constexpr int64_t kWgStageBytes = kWgABytes + 2 * kWgBBlockBytes;
// 49152 bytes: the most static shared memory a kernel may have.
constexpr int64_t kWgSharedBytes = kWgStages * kWgStageBytes;
// The 128-byte swizzle pattern repeats every 8 rows of 128 bytes; the
// buffer must start on that boundary (the descriptors' base offset is 0).
constexpr int64_t kWgSharedAlignment = 1024;

/// Builds the wgmma kernel of one 64x128 tile inside a gpu.launch body.
///
/// Shared memory layout (the canonical layouts of the PTX ISA's "Shared
/// Memory Matrix Layout" for 128-byte swizzling; CUTLASS's
/// Layout_K_SW128_Atom / Layout_MN_SW128_Atom): within every 1024-byte
/// atom of 8 rows x 128 bytes, the 16-byte chunk c of row r is stored at
/// chunk c ^ (r % 8). The hardware applies the same XOR to address bits
/// [4,7) with bits [7,10), which is why the atoms must be 1024-aligned.
///  - A, K-major: row m (64 k values = 128 bytes) at byte 128 * m. The
///    descriptor: stride byte offset (between 8-row groups along M) 1024,
///    leading byte offset unused for swizzled K-major (1, as CUTLASS).
///    The k16 step ks starts 32 * ks bytes into the rows.
///  - B, N-major (Kiln's B is [k][n]): block nb of 64 columns at
///    8192 * nb, row k (64 n values) at 128 * k inside it. The descriptor:
///    leading byte offset (between the two 64-column blocks) 8192, stride
///    byte offset (between 8-row groups along K) 1024; the k16 step ks
///    starts 2048 * ks bytes in (two whole atoms); imm-trans-b = 1.
///
/// Accumulators: wgmma m64nNk16's f32 fragment, N/2 = 64 registers per
/// thread. Register i of lane l in warp w holds
///   row 16 w + l / 4 + 8 * ((i / 2) % 2), column 8 (i / 4) + 2 (l % 4) + i % 2
/// (the PTX ISA's "WGMMA .m64nNk16 register fragment layout for
/// accumulator matrix D"; CUTLASS's CLayout_64xN).
class WgmmaKernelBuilder : kiln::IndexArithmetic {
public:
  WgmmaKernelBuilder(ImplicitLocOpBuilder &b, const Matmul &mm, Value smem,
                     Value tid, Value bm, Value bn, Value batchIndex)
      : IndexArithmetic(b), b(b), mm(mm), smem(smem), tid(tid), bm(bm), bn(bn),
        batchIndex(batchIndex) {
    Value warp = div(tid, 32), lane = rem(tid, 32);
    rowBase = add(add(bm, mul(warp, 16)), div(lane, 4));
    colBase = add(bn, mul(rem(lane, 4), 2));
  }

  void build() {
    Value base = arith::IndexCastOp::create(
        b, b.getI64Type(),
        memref::ExtractAlignedPointerAsIndexOp::create(b, smem));
    Value group = issue(idx(0), idx(0));

    // Accumulators start from C.
    Value acc = LLVM::UndefOp::create(b, accType());
    for (int64_t i = 0; i < kWgTileN / 2; i += 2) {
      Value pair = vector::LoadOp::create(b, VectorType::get({2}, f32()), mm.c,
                                          cIndices(i));
      for (int64_t h = 0; h < 2; ++h)
        acc = LLVM::InsertValueOp::create(
            b, acc, vector::ExtractOp::create(b, pair, ArrayRef<int64_t>{h}),
            ArrayRef<int64_t>{i + h});
    }

    int64_t kTiles = mm.k / kWgTileK;
    auto loop = scf::ForOp::create(b, idx(0), idx(kTiles - 1), idx(1),
                                   ValueRange{acc});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value kt = loop.getInductionVar();
      Value next = add(kt, idx(1));
      Value pending = issue(next, rem(next, kWgStages));
      nvgpu::DeviceAsyncWaitOp::create(b, pending, b.getI32IntegerAttr(1));
      Value updated = compute(base, rem(kt, kWgStages),
                              loop.getRegionIterArgs()[0]);
      scf::YieldOp::create(b, updated);
    }
    nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
    acc = compute(base, idx((kTiles - 1) % kWgStages), loop.getResult(0));

    for (int64_t i = 0; i < kWgTileN / 2; i += 2) {
      Value pair = LLVM::UndefOp::create(b, VectorType::get({2}, f32()));
      for (int64_t h = 0; h < 2; ++h)
        pair = vector::InsertOp::create(
            b,
            LLVM::ExtractValueOp::create(b, acc, ArrayRef<int64_t>{i + h}),
            pair, ArrayRef<int64_t>{h});
      vector::StoreOp::create(b, pair, mm.c, cIndices(i));
    }
  }

private:
  Type f32() { return b.getF32Type(); }
  Type accType() {
    return LLVM::LLVMStructType::getLiteral(
        b.getContext(), SmallVector<Type>(kWgTileN / 2, f32()));
  }
  Value i64(int64_t v) {
    return arith::ConstantIntOp::create(b, b.getI64Type(), v);
  }

  /// The C element of accumulator register `i` (and `i + 1`, the next
  /// column) of this thread.
  SmallVector<Value> cIndices(int64_t i) {
    Value row = add(rowBase, idx(8 * ((i / 2) % 2)));
    Value col = add(colBase, idx(8 * (i / 4)));
    if (mm.batched)
      return {batchIndex, row, col};
    return {row, col};
  }

  /// Element offset of 16-byte chunk `chunk` (of 8 elements) of 128-byte
  /// row `row` in the swizzled region starting at element `region`.
  Value swizzled(Value region, Value row, Value chunk) {
    Value slot = arith::XOrIOp::create(b, chunk, rem(row, 8));
    return add(add(region, mul(row, 64)), mul(slot, 8));
  }

  /// Starts the copies of K tile `kt` into `stage`; returns their group.
  Value issue(Value kt, Value stage) {
    Value k0 = mul(kt, kWgTileK);
    Value stageBase = mul(stage, kWgStageBytes / 2);
    SmallVector<Value> tokens;
    // A: 64 rows x 8 chunks = 512 chunks, 4 per thread.
    for (int64_t j = 0; j < kWgTileM * 8 / 128; ++j) {
      Value q = add(tid, idx(j * 128));
      Value r = div(q, 8), c = rem(q, 8);
      SmallVector<Value> src = {add(bm, r), add(k0, mul(c, 8))};
      if (mm.batched)
        src.insert(src.begin(), batchIndex);
      tokens.push_back(copy(swizzled(stageBase, r, c), mm.a, src));
    }
    // B: 64 rows x 16 chunks = 1024 chunks, 8 per thread; chunk cn of row
    // kr goes to block cn / 8.
    Value bBase = add(stageBase, idx(kWgABytes / 2));
    for (int64_t j = 0; j < kWgTileK * 16 / 128; ++j) {
      Value q = add(tid, idx(j * 128));
      Value kr = div(q, 16), cn = rem(q, 16);
      Value block = add(bBase, mul(div(cn, 8), kWgBBlockBytes / 2));
      SmallVector<Value> src = {add(k0, kr), add(bn, mul(cn, 8))};
      if (mm.bBatched)
        src.insert(src.begin(), batchIndex);
      tokens.push_back(copy(swizzled(block, kr, rem(cn, 8)), mm.b, src));
    }
    return nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
  }

  Value copy(Value dstIndex, Value src, SmallVector<Value> srcIdx) {
    return nvgpu::DeviceAsyncCopyOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), smem,
        ValueRange{dstIndex}, src, srcIdx, b.getIndexAttr(8),
        /*srcElements=*/Value(), /*bypassL1=*/b.getUnitAttr());
  }

  /// A shared memory matrix descriptor (PTX ISA "Matrix Descriptor
  /// Format"): start address >> 4 in bits [0,14), leading byte offset >> 4
  /// in [16,30), stride byte offset >> 4 in [32,46), base offset 0 in
  /// [49,52), swizzle mode 1 (128-byte) in [62,64).
  Value descriptor(Value address, int64_t leadingBytes, int64_t strideBytes) {
    uint64_t fixed = (uint64_t(1) << 62) |
                     (uint64_t(strideBytes >> 4) << 32) |
                     (uint64_t(leadingBytes >> 4) << 16);
    Value start = arith::ShRUIOp::create(
        b, arith::AndIOp::create(b, address, i64(0x3FFFF)), i64(4));
    return arith::OrIOp::create(b, start, i64(int64_t(fixed)));
  }

  /// Waits for this thread's copies (done by the caller), makes the stage
  /// visible to the tensor cores, and runs the 4 k16 steps of `stage`.
  Value compute(Value base, Value stage, Value acc) {
    // cp.async writes through the generic proxy, wgmma reads through the
    // async proxy: fence, then make every thread's copies visible.
    NVVM::FenceProxyOp::create(
        b, NVVM::ProxyKind::async_shared,
        NVVM::SharedSpaceAttr::get(b.getContext(),
                                   NVVM::SharedSpace::shared_cta));
    gpu::BarrierOp::create(b);
    Value stageAddr = add(base, arith::IndexCastOp::create(
                                    b, b.getI64Type(),
                                    mul(stage, kWgStageBytes)));
    Value bAddr = add(stageAddr, i64(kWgABytes));
    MLIRContext *ctx = b.getContext();
    auto type = NVVM::WGMMATypesAttr::get(
        ctx, mm.elementType.isF16() ? NVVM::WGMMATypes::f16
                                    : NVVM::WGMMATypes::bf16);
    NVVM::WgmmaFenceAlignedOp::create(b);
    for (int64_t ks = 0; ks < kWgTileK / 16; ++ks) {
      Value descA = descriptor(add(stageAddr, i64(32 * ks)), 16, 1024);
      Value descB =
          descriptor(add(bAddr, i64(2048 * ks)), kWgBBlockBytes, 1024);
      acc = NVVM::WgmmaMmaAsyncOp::create(
          b, accType(), acc, descA, descB,
          NVVM::MMAShapeAttr::get(ctx, 64, kWgTileN, 16), type, type,
          NVVM::WGMMATypesAttr::get(ctx, NVVM::WGMMATypes::f32),
          NVVM::WGMMAScaleOutAttr::get(ctx, NVVM::WGMMAScaleOut::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::WGMMAScaleInAttr::get(ctx, NVVM::WGMMAScaleIn::one),
          NVVM::MMALayoutAttr::get(ctx, kLayoutKMajorA),
          NVVM::MMALayoutAttr::get(ctx, kLayoutNMajorB),
          /*satfinite=*/NVVM::MMAIntOverflowAttr());
    }
    NVVM::WgmmaGroupSyncAlignedOp::create(b);
    NVVM::WgmmaWaitGroupSyncOp::create(b, 0);
    // Every warp is done reading the stage before it is refilled.
    gpu::BarrierOp::create(b);
    return acc;
  }

  // NVVM's layout attributes as wgmma's imm-trans-a / imm-trans-b. MLIR
  // 22.1 prints imm-trans-a = 0 for A `row` and imm-trans-b = 1 for B
  // `row` (0 for `col`): B `row` is row-major [k][n], i.e. N-major.
  static constexpr NVVM::MMALayout kLayoutKMajorA = NVVM::MMALayout::row;
  static constexpr NVVM::MMALayout kLayoutNMajorB = NVVM::MMALayout::row;

  ImplicitLocOpBuilder &b;
  const Matmul &mm;
  Value smem, tid, bm, bn, batchIndex, rowBase, colBase;
};

/// The predicate that kiln-gpu-specialize-kernels-per-arch resolves: true
/// in the kernels compiled for an arch that has wgmma.
func::FuncOp getOrCreateWgmmaPredicate(ModuleOp module) {
  if (auto f = module.lookupSymbol<func::FuncOp>(kWgmmaPredicateName))
    return f;
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToStart(module.getBody());
  auto f = func::FuncOp::create(b, module.getLoc(), kWgmmaPredicateName,
                                b.getFunctionType({}, {b.getI1Type()}));
  f.setPrivate();
  f->setAttr(kiln::kGpuArchPredicateAttrName,
             b.getStrArrayAttr({"sm_90a"}));
  f->setAttr(kiln::kGpuWorkgroupAlignmentAttrName,
             b.getI64IntegerAttr(kWgSharedAlignment));
  return f;
}

/// The matmuls of `module` this pass converts: those at the top level of a
/// public function (the model's entry points), not already in a kernel.
SmallVector<Matmul> collectMatmuls(ModuleOp module) {
  SmallVector<Matmul> matmuls;
  module.walk([&](linalg::GenericOp op) {
    if (op->getParentOfType<gpu::LaunchOp>())
      return;
    auto func = op->getParentOfType<func::FuncOp>();
    if (!func || !func.isPublic() || op->getParentOp() != func)
      return;
    if (std::optional<Matmul> mm = match(op))
      matmuls.push_back(*mm);
  });
  return matmuls;
}

struct ConvertMatmulsToMmaKernelsPass
    : kiln::impl::ConvertMatmulsToMmaKernelsBase<
          ConvertMatmulsToMmaKernelsPass> {
  void runOnOperation() override {
    for (Matmul &mm : collectMatmuls(getOperation())) {
      ImplicitLocOpBuilder b(mm.op.getLoc(), mm.op);
      if (mm.m % kWgTileM == 0 && mm.n % kWgTileN == 0 &&
          mm.k % kWgTileK == 0)
        buildWithWgmmaVariant(b, mm);
      else
        buildMmaSync(b, mm);
      mm.op.erase();
    }
  }

  static Value idx(ImplicitLocOpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, v);
  }

  /// One launch of the mma.sync kernel: a 64x64 tile per block.
  void buildMmaSync(ImplicitLocOpBuilder &b, const Matmul &mm) {
    auto smem = gpu::AddressSpaceAttr::get(b.getContext(),
                                           gpu::AddressSpace::Workgroup);
    auto aTile = MemRefType::get({kStages, kTileM, kTileK}, mm.elementType,
                                 MemRefLayoutAttrInterface(), smem);
    auto bTile = MemRefType::get({kStages, kTileK, kTileN}, mm.elementType,
                                 MemRefLayoutAttrInterface(), smem);
    auto launch = gpu::LaunchOp::create(
        b, idx(b, mm.n / kTileN), idx(b, mm.m / kTileM), idx(b, mm.batch),
        idx(b, kThreads), idx(b, 1), idx(b, 1),
        /*dynamicSharedMemorySize=*/nullptr,
        /*asyncTokenType=*/nullptr, ValueRange{}, TypeRange{aTile, bTile});
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x;
    KernelBuilder(b, mm, launch.getWorkgroupAttributions()[0],
                  launch.getWorkgroupAttributions()[1], tid,
                  arith::MulIOp::create(b, launch.getBlockIds().y,
                                        idx(b, kTileM)),
                  arith::MulIOp::create(b, launch.getBlockIds().x,
                                        idx(b, kTileN)),
                  launch.getBlockIds().z)
        .build();
    gpu::TerminatorOp::create(b);
  }

  /// One launch with a 64x128 tile per block of 128 threads and two
  /// bodies: the wgmma kernel where the arch has it (sm_90a), else the
  /// mma.sync kernel run on the tile's two 64x64 halves. The launch (grid,
  /// block, no dynamic shared memory) is the same for both, so the host
  /// code is the same for every arch and each image of the artifact holds
  /// its arch's body under the kernel's one name.
  void buildWithWgmmaVariant(ImplicitLocOpBuilder &b, const Matmul &mm) {
    MLIRContext *ctx = b.getContext();
    func::FuncOp predicate = getOrCreateWgmmaPredicate(getOperation());
    auto space = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto buffer = MemRefType::get({kWgSharedBytes / 2}, mm.elementType,
                                  MemRefLayoutAttrInterface(), space);
    auto launch = gpu::LaunchOp::create(
        b, idx(b, mm.n / kWgTileN), idx(b, mm.m / kWgTileM), idx(b, mm.batch),
        idx(b, kThreads), idx(b, 1), idx(b, 1),
        /*dynamicSharedMemorySize=*/nullptr,
        /*asyncTokenType=*/nullptr, ValueRange{}, TypeRange{buffer});
    b.setInsertionPointToStart(&launch.getBody().front());
    Value smem = launch.getWorkgroupAttributions()[0];
    Value tid = launch.getThreadIds().x, batchIndex = launch.getBlockIds().z;
    Value bm = arith::MulIOp::create(b, launch.getBlockIds().y,
                                     idx(b, kWgTileM));
    Value bn = arith::MulIOp::create(b, launch.getBlockIds().x,
                                     idx(b, kWgTileN));
    Value hasWgmma =
        func::CallOp::create(b, predicate, ValueRange{}).getResult(0);
    auto branch = scf::IfOp::create(b, hasWgmma, /*withElseRegion=*/true);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      WgmmaKernelBuilder(b, mm, smem, tid, bm, bn, batchIndex).build();
      b.setInsertionPointToStart(&branch.getElseRegion().front());
      // The mma.sync stages as views of the front of the same buffer.
      auto view = [&](int64_t offset, ArrayRef<int64_t> shape) -> Value {
        SmallVector<int64_t> strides = {shape[1] * shape[2], shape[2], 1};
        auto type = MemRefType::get(
            shape, mm.elementType,
            StridedLayoutAttr::get(ctx, offset, strides), space);
        return memref::ReinterpretCastOp::create(b, type, smem, offset, shape,
                                                 strides);
      };
      Value as = view(0, {kStages, kTileM, kTileK});
      Value bs = view(kStages * kTileM * kTileK, {kStages, kTileK, kTileN});
      for (int64_t half = 0; half < kWgTileN / kTileN; ++half) {
        if (half)
          gpu::BarrierOp::create(b);
        KernelBuilder(b, mm, as, bs, tid, bm,
                      arith::AddIOp::create(b, bn, idx(b, half * kTileN)),
                      batchIndex)
            .build();
      }
    }
    gpu::TerminatorOp::create(b);
  }
};

} // namespace
