//===- ConvertQuantizedLinearsToMmaKernels.cpp - int4/int8 linears on MMA -===//
//
// Weight-only quantized linears on tensor cores: the weight tile of each K
// step is dequantized in registers (the prologue) into shared memory, then
// multiplied like any f16/bf16 tile by the matmul generator's mma.sync
// code (MmaSync.h). No float copy of the weight exists.
//
//   weights, repacked at compile time (see Passes.td):
//     codes   [N][K] u8, or [N][K/2] u4 pairs (byte j of a 16-code run:
//             code j low, code j + 8 high)
//     params  [N][K/g][2] f32: (s, o), the weight is u * s + o
//
//   grid (N / 64, ceil(M / TM)), 128 threads, TM = 64 (2x2 warps of
//   32x32) or 16 for decode (4 warps of 16x16); K tiles of 64:
//     x tile  [2][TM][64]  cp.async, 16 bytes a copy, rows >= M zero-filled
//     w tile  [2][64][64]  [n][k] rows: each thread loads 2 x 16 codes,
//                          converts them and stores 2 x 2 x 8 values
//   fragments by ldmatrix (x4 for x, x2 for w, both untransposed),
//   mma.sync m16n8k16 with f32 accumulators from 0;
//   epilogue: + bias, rounded to the activations' type, rows < M stored.
//
// The weight stage is filled with plain stores while the other stage is
// multiplied; the barrier after the cp.async wait publishes both.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/GPU/Passes.h"

#include "IndexArithmetic.h"
#include "KernelBuffers.h"
#include "MmaSync.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"
#include "kiln/passes/KilnToLinalg/QLinearGeometry.h"

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <cstring>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_CONVERTQUANTIZEDLINEARSTOMMAKERNELS
#include "kiln/passes/GPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

constexpr int64_t kThreads = 128, kTileN = 64, kTileK = 64;
/// Codes each thread dequantizes at once: one 16-byte (int8) or 8-byte
/// (int4) load, two stores of 8 values.
constexpr int64_t kRun = 16;
/// M up to this takes the decode tile.
constexpr int64_t kDecodeRows = 16;

/// The block tile: `warpsM` x (4 / warpsM) warps, each `fragsM` x `fragsN`
/// m16n8k16 fragments; always 64 columns.
struct TileShape {
  int64_t warpsM, fragsM, fragsN;
  int64_t warpsN() const { return 4 / warpsM; }
  int64_t rows() const { return warpsM * fragsM * 16; }
};
constexpr TileShape kPrefillTile = {2, 2, 4};
constexpr TileShape kDecodeTile = {1, 1, 2};

/// A kiln.qlinear the kernel covers.
struct QuantizedLinear : QLinearGeometry, QLinearConstants {
  QLinearOp op;
  Type elementType; // of the activations: f16 or bf16
  int64_t bits = 0;

  /// Added to every code to make it unsigned.
  int64_t codeBias() const { return isUnsigned ? 0 : int64_t(1) << (bits - 1); }
  TileShape tile() const {
    return m <= kDecodeRows ? kDecodeTile : kPrefillTile;
  }
};

std::optional<QuantizedLinear> match(QLinearOp op) {
  QuantizedLinear q;
  q.op = op;
  auto inputType = cast<RankedTensorType>(op.getInput().getType());
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  q.elementType = inputType.getElementType();
  if (!q.read(op) || !inputType.hasStaticShape() ||
      !weightType.hasStaticShape() ||
      !(q.elementType.isF16() || q.elementType.isBF16()))
    return std::nullopt;
  auto codeType = dyn_cast<IntegerType>(weightType.getElementType());
  if (!codeType || (codeType.getWidth() != 4 && codeType.getWidth() != 8))
    return std::nullopt;
  q.bits = codeType.getWidth();
  static_cast<QLinearGeometry &>(q) = QLinearGeometry::of(op);
  if (q.m == 0 || q.n % kTileN || q.k % kTileK || q.groupSize % kRun)
    return std::nullopt;
  if (Value bias = op.getBias())
    if (!cast<RankedTensorType>(bias.getType()).hasStaticShape())
      return std::nullopt;
  return q;
}

/// Code `index` (one byte each in MLIR's storage) as the integer it stands
/// for: sign-extended from `bits` unless unsigned.
int64_t codeValue(ArrayRef<char> bytes, size_t index, int64_t bits,
                  bool isUnsigned) {
  uint32_t raw = uint8_t(bytes[index]) & ((1u << bits) - 1);
  if (isUnsigned || !(raw >> (bits - 1)))
    return raw;
  return int64_t(raw) - (int64_t(1) << bits);
}

/// The codes as the unsigned bytes (int8) or nibble pairs (int4) the
/// kernel reads; see the top of the file.
std::optional<std::vector<char>> packCodes(const QuantizedLinear &q) {
  std::optional<std::vector<char>> bytes = constantBytes(q.codes);
  if (!bytes || bytes->size() != size_t(q.n * q.k))
    return std::nullopt;
  std::vector<char> packed(q.n * q.k * q.bits / 8, 0);
  for (int64_t row = 0; row < q.n; ++row)
    for (int64_t col = 0; col < q.k; ++col) {
      auto u =
          uint8_t(codeValue(*bytes, row * q.k + col, q.bits, q.isUnsigned) +
                  q.codeBias());
      if (q.bits == 8) {
        packed[row * q.k + col] = char(u);
        continue;
      }
      int64_t run = col / kRun, j = col % kRun;
      size_t to = row * q.k / 2 + run * kRun / 2 + j % (kRun / 2);
      packed[to] = char(uint8_t(packed[to]) | (u << (j < kRun / 2 ? 0 : 4)));
    }
  return packed;
}

/// The (scale, offset) pairs [N][K/g][2] of the dequantization u * s + o.
std::optional<std::vector<char>> packParams(const QuantizedLinear &q) {
  std::optional<std::vector<double>> scales = constantFloats(q.scales);
  std::optional<std::vector<char>> zeros;
  if (q.zeroPoints)
    zeros = constantBytes(q.zeroPoints);
  double global = 1;
  if (q.globalScale) {
    std::optional<std::vector<double>> g = constantFloats(q.globalScale);
    if (!g || g->size() != 1)
      return std::nullopt;
    global = (*g)[0];
  }
  size_t count = q.scales.getNumElements();
  if (!scales || scales->size() != count ||
      (q.zeroPoints && (!zeros || zeros->size() != count)))
    return std::nullopt;
  std::vector<float> params;
  params.reserve(q.n * q.groups() * 2);
  for (int64_t row = 0; row < q.n; ++row)
    for (int64_t g = 0; g < q.groups(); ++g) {
      size_t at = q.paramIndex(row, g);
      double s = (*scales)[at] * global;
      int64_t zero = zeros ? codeValue(*zeros, at, q.bits, q.isUnsigned) : 0;
      float scale = float(s), offset = float(-double(q.codeBias() + zero) * s);
      if (!std::isfinite(scale) || !std::isfinite(offset))
        return std::nullopt;
      params.push_back(scale);
      params.push_back(offset);
    }
  std::vector<char> bytes(params.size() * sizeof(float));
  std::memcpy(bytes.data(), params.data(), bytes.size());
  return bytes;
}

/// The buffers a kernel reads and writes.
struct KernelOperands {
  Value x, codes, params, bias, out;
};

/// Builds the kernel of one quantized linear inside a gpu.launch body.
class KernelBuilder : IndexArithmetic {
public:
  /// The block tile at (`bm`, `bn`), staged through `xs` ([2][TM][64]) and
  /// `ws` ([2][64][64]) in shared memory.
  KernelBuilder(ImplicitLocOpBuilder &b, const QuantizedLinear &q,
                const KernelOperands &operands, Value xs, Value ws, Value tid,
                Value bm, Value bn)
      : IndexArithmetic(b), b(b), q(q), tile(q.tile()), operands(operands),
        xs(xs), ws(ws), tid(tid), bm(bm), bn(bn) {
    Value warp = div(tid, 32);
    lane = rem(tid, 32);
    warpRow = mul(div(warp, tile.warpsN()), tile.fragsM * 16);
    warpCol = mul(rem(warp, tile.warpsN()), tile.fragsN * 8);
  }

  void build() {
    auto init = [&] {
      Value zero = arith::ConstantOp::create(
          b, b.getZeroAttr(VectorType::get({2, 2}, b.getF32Type())));
      return SmallVector<Value>(tile.fragsM * tile.fragsN, zero);
    };
    SmallVector<Value> acc = buildTwoStageKLoop(
        b, q.k / kTileK,
        [&](Value kt, Value stage) { return issue(kt, stage); }, init,
        [&](Value stage, SmallVector<Value> acc) {
          return compute(stage, std::move(acc));
        });
    store(acc);
  }

private:
  Value splat(Value scalar, int64_t n) {
    return vector::BroadcastOp::create(
        b, VectorType::get({n}, scalar.getType()), scalar);
  }
  bool raggedRows() const { return q.m % tile.rows() != 0; }

  /// Starts K tile `kt` into `stage`: cp.async of the activations,
  /// dequantized weights stored directly. Returns the copies' group.
  Value issue(Value kt, Value stage) {
    Value k0 = mul(kt, kTileK);
    SmallVector<Value> tokens;
    // TM rows x 8 chunks of 8 activations.
    for (int64_t j = 0; j < tile.rows() * (kTileK / 8) / kThreads; ++j) {
      Value chunk = add(tid, idx(j * kThreads));
      Value r = div(chunk, kTileK / 8), col = mul(rem(chunk, kTileK / 8), 8);
      Value row = add(bm, r), elements;
      if (raggedRows()) {
        // Rows past M read nothing (zero-fill) from a row that exists.
        Value inside =
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, idx(q.m));
        row = arith::MinUIOp::create(b, row, idx(q.m - 1));
        elements = arith::SelectOp::create(b, inside, idx(8), idx(0));
      }
      tokens.push_back(nvgpu::DeviceAsyncCopyOp::create(
          b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), xs,
          ValueRange{stage, r, col}, operands.x, ValueRange{row, add(k0, col)},
          b.getIndexAttr(8), elements, /*bypassL1=*/b.getUnitAttr()));
    }
    Value group = nvgpu::DeviceAsyncCreateGroupOp::create(
        b, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tokens);
    // 64 rows x 4 runs of 16 codes.
    for (int64_t j = 0; j < kTileN * (kTileK / kRun) / kThreads; ++j)
      dequantizeRun(stage, k0, add(tid, idx(j * kThreads)));
    return group;
  }

  /// Dequantizes run `run` of the weight tile (row run / 4, codes
  /// 16 * (run % 4) ..) into `stage` of the weight buffer.
  void dequantizeRun(Value stage, Value k0, Value run) {
    Value r = div(run, kTileK / kRun), kc = mul(rem(run, kTileK / kRun), kRun);
    Value row = add(bn, r), k = add(k0, kc);
    Type f32 = b.getF32Type(), i8 = b.getI8Type();
    Value pair = vector::LoadOp::create(
        b, VectorType::get({2}, f32), operands.params,
        ValueRange{row, div(k, q.groupSize), idx(0)}, false, llvm::Align(8));
    Value scale = splat(vector::ExtractOp::create(b, pair, int64_t(0)), 8);
    Value offset = splat(vector::ExtractOp::create(b, pair, int64_t(1)), 8);

    std::array<Value, 2> halves;
    auto half = VectorType::get({8}, i8);
    if (q.bits == 8) {
      Value codes =
          vector::LoadOp::create(b, VectorType::get({kRun}, i8), operands.codes,
                                 ValueRange{row, k}, false, llvm::Align(16));
      // vector.shuffle, not extract_strided_slice: convert-gpu-to-nvvm
      // lowers the former only.
      for (int64_t h = 0; h < 2; ++h)
        halves[h] = vector::ShuffleOp::create(
            b, codes, codes,
            llvm::to_vector(llvm::seq<int64_t>(8 * h, 8 * h + 8)));
    } else {
      Value codes = vector::LoadOp::create(b, half, operands.codes,
                                           ValueRange{row, div(k, 2)}, false,
                                           llvm::Align(8));
      auto constant = [&](int64_t v) -> Value {
        return arith::ConstantOp::create(
            b, DenseElementsAttr::get(half, b.getI8IntegerAttr(v)));
      };
      halves[0] = arith::AndIOp::create(b, codes, constant(0xF));
      halves[1] = arith::ShRUIOp::create(b, codes, constant(4));
    }
    auto contract = arith::FastMathFlagsAttr::get(
        b.getContext(), arith::FastMathFlags::contract);
    for (int64_t h = 0; h < 2; ++h) {
      Value u =
          arith::UIToFPOp::create(b, VectorType::get({8}, f32), halves[h]);
      Value w = arith::AddFOp::create(
          b, arith::MulFOp::create(b, u, scale, contract), offset, contract);
      Value narrow =
          arith::TruncFOp::create(b, VectorType::get({8}, q.elementType), w);
      vector::StoreOp::create(b, narrow, ws,
                              ValueRange{stage, r, add(kc, idx(8 * h))}, false,
                              llvm::Align(16));
    }
  }

  /// This warp's fragments over the 4 k16 steps of one stage.
  SmallVector<Value> compute(Value stage, SmallVector<Value> acc) {
    MmaSyncWarp warp(b, q.elementType, lane);
    for (int64_t ks = 0; ks < kTileK / 16; ++ks) {
      SmallVector<Value> xFrag, wFrag;
      for (int64_t mi = 0; mi < tile.fragsM; ++mi)
        xFrag.push_back(
            warp.loadA(xs, stage, add(warpRow, idx(mi * 16)), idx(ks * 16)));
      for (int64_t ni = 0; ni < tile.fragsN; ++ni)
        wFrag.push_back(warp.loadB(ws, stage, idx(ks * 16),
                                   add(warpCol, idx(ni * 8)),
                                   MmaTileLayout::NRows));
      for (int64_t mi = 0; mi < tile.fragsM; ++mi)
        for (int64_t ni = 0; ni < tile.fragsN; ++ni) {
          Value &c = acc[mi * tile.fragsN + ni];
          c = warp.mma(xFrag[mi], wFrag[ni], c);
        }
    }
    return acc;
  }

  /// The epilogue: + bias, rounded, the rows below M stored.
  void store(ArrayRef<Value> acc) {
    Type f32 = b.getF32Type();
    auto pairType = VectorType::get({2}, f32);
    Value g = div(lane, 4), t2 = mul(rem(lane, 4), 2);
    for (int64_t ni = 0; ni < tile.fragsN; ++ni) {
      Value col = add(add(add(bn, warpCol), idx(ni * 8)), t2);
      Value bias;
      if (operands.bias) {
        auto biasType = cast<MemRefType>(operands.bias.getType());
        Type elt = biasType.getElementType();
        bias = vector::LoadOp::create(
            b, VectorType::get({2}, elt), operands.bias, ValueRange{col}, false,
            llvm::Align(2 * elt.getIntOrFloatBitWidth() / 8));
        if (elt.getIntOrFloatBitWidth() < 32)
          bias = arith::ExtFOp::create(b, pairType, bias);
        else if (!elt.isF32())
          bias = arith::TruncFOp::create(b, pairType, bias);
      }
      for (int64_t mi = 0; mi < tile.fragsM; ++mi)
        for (int64_t h = 0; h < 2; ++h) {
          Value row = add(add(add(bm, warpRow), idx(mi * 16 + 8 * h)), g);
          Value v = vector::ExtractOp::create(b, acc[mi * tile.fragsN + ni],
                                              ArrayRef<int64_t>{h});
          if (bias)
            v = arith::AddFOp::create(b, v, bias);
          v = arith::TruncFOp::create(b, VectorType::get({2}, q.elementType),
                                      v);
          storeRow(v, row, col);
        }
    }
  }

  void storeRow(Value v, Value row, Value col) {
    auto write = [&] {
      vector::StoreOp::create(b, v, operands.out, ValueRange{row, col}, false,
                              llvm::Align(4));
    };
    if (!raggedRows())
      return write();
    Value inside =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, row, idx(q.m));
    auto branch = scf::IfOp::create(b, inside, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    write();
  }

  ImplicitLocOpBuilder &b;
  const QuantizedLinear &q;
  TileShape tile;
  const KernelOperands &operands;
  Value xs, ws, tid, bm, bn, lane, warpRow, warpCol;
};

MemRefType sharedType(MLIRContext *ctx, ArrayRef<int64_t> shape, Type elt) {
  return MemRefType::get(
      shape, elt, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

/// Replaces `q.op` by its kernel. When a constant cannot be repacked it
/// leaves the op as it is, for the generic lowering of kiln.qlinear.
void convert(RewriterBase &rewriter, const QuantizedLinear &q) {
  std::optional<std::vector<char>> codes = packCodes(q);
  std::optional<std::vector<char>> params = packParams(q);
  if (!codes || !params)
    return;
  QLinearOp op = q.op;
  rewriter.setInsertionPoint(op);
  ImplicitLocOpBuilder b(op.getLoc(), rewriter);
  MLIRContext *ctx = b.getContext();
  // Repacked constants keep the weight's location: kiln-outline-weights
  // names the artifact's weights after it.
  Location weightLoc = op.getWeight().getLoc();
  auto constant = [&](ArrayRef<int64_t> shape, Type elt, ArrayRef<char> bytes,
                      StringRef name) -> Value {
    auto type = RankedTensorType::get(shape, elt);
    return arith::ConstantOp::create(
        b, weightLoc, cast<TypedAttr>(makeConstantAttr(type, bytes, name)));
  };
  auto buffer = [&](Value tensor) { return readOnlyBuffer(b, tensor); };
  KernelOperands operands;
  Value x = reshapeTensor(b, op.getLoc(), op.getInput(),
                          RankedTensorType::get({q.m, q.k}, q.elementType));
  operands.x = buffer(x);
  operands.codes = buffer(constant({q.n, q.k * q.bits / 8}, b.getI8Type(),
                                   *codes, "quantized_mma_codes"));
  operands.params = buffer(constant({q.n, q.groups(), 2}, b.getF32Type(),
                                    *params, "quantized_mma_params"));
  operands.bias = buffer(op.getBias());
  operands.out =
      memref::AllocOp::create(b, MemRefType::get({q.m, q.n}, q.elementType));

  TileShape tile = q.tile();
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Value one = index(1);
  auto launch = gpu::LaunchOp::create(
      b, index(q.n / kTileN), index(llvm::divideCeil(q.m, tile.rows())), one,
      index(kThreads), one, one, /*dynamicSharedMemorySize=*/nullptr,
      /*asyncTokenType=*/nullptr, ValueRange{},
      TypeRange{sharedType(ctx, {2, tile.rows(), kTileK}, q.elementType),
                sharedType(ctx, {2, kTileN, kTileK}, q.elementType)});
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&launch.getBody().front());
    ValueRange smem = launch.getWorkgroupAttributions();
    Value bm =
        arith::MulIOp::create(b, launch.getBlockIds().y, index(tile.rows()));
    Value bn = arith::MulIOp::create(b, launch.getBlockIds().x, index(kTileN));
    KernelBuilder(b, q, operands, smem[0], smem[1], launch.getThreadIds().x, bm,
                  bn)
        .build();
    gpu::TerminatorOp::create(b);
  }
  auto outType = RankedTensorType::get({q.m, q.n}, q.elementType);
  Value result = bufferization::ToTensorOp::create(
      b, outType, operands.out, /*restrict=*/true, /*writable=*/true);
  result = reshapeTensor(b, op.getLoc(), result, op.getType());

  // The op's constants, now repacked, go when nothing else reads them.
  SmallVector<Operation *> producers;
  for (Value v :
       {op.getWeight(), op.getScale(), op.getZeroPoint(), op.getGlobalScale()})
    if (Operation *def = v ? v.getDefiningOp() : nullptr)
      if (!llvm::is_contained(producers, def))
        producers.push_back(def);
  rewriter.replaceOp(op, result);
  for (Operation *def : producers)
    if (def->use_empty())
      rewriter.eraseOp(def);
}

/// Collects the quantized linears first and converts them after the walk,
/// since converting one erases it and its dead producers.
struct ConvertQuantizedLinearsToMmaKernelsPass
    : kiln::impl::ConvertQuantizedLinearsToMmaKernelsBase<
          ConvertQuantizedLinearsToMmaKernelsPass> {
  void runOnOperation() override {
    SmallVector<QuantizedLinear> linears;
    getOperation().walk([&](QLinearOp op) {
      if (std::optional<QuantizedLinear> q = match(op))
        linears.push_back(*q);
    });
    IRRewriter rewriter(&getContext());
    for (const QuantizedLinear &q : linears)
      convert(rewriter, q);
  }
};

} // namespace
