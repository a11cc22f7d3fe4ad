//===- ConvertQuantizedLinearsToVectorKernels.cpp - quantized linears -----===//
//
// The reference lowering of kiln.qlinear is one scalar linalg.generic that
// converts and scales every code once per output row. Decode is bound by
// reading the weights, so the kernel here keeps them in their quantized
// form and dequantizes in registers as it streams them:
//
//   codes   [N / 32][K][16 bytes]   int4, fp4: byte j holds columns j (low
//                                   nibble) and 16 + j (high nibble)
//           [N / 32][K][32 bytes]   int8, fp8: byte j holds column j
//   scales  [N / 32][K / g][32]     f32, one per column and group
//   zeros   [N / 32][K / g][32]     i8, when the format has zero points
//
//   for p in panels (threads when the product is large):
//     for each block of `rows` rows m:
//       acc[m][0..32) = 0                      two vector<16xf32> per row
//       for g in groups:
//         part[m][..] = 0                      per row, two per K parity
//         for k in group g:
//           lo, hi = the panel's 32 codes of k, decoded (minus the zero
//                    points) as two vector<16xf32>
//           part[m] += x[m, k] * (lo, hi)      broadcast FMAs
//         acc[m] += part[m] * scales[p][g]     the scale once per group
//       y[m, 32p .. 32p + 32) = acc[m] + bias
//
// Splitting the partial sums by the parity of k gives a single row four
// independent FMA chains, so a decode step is not bound by FMA latency.
// The layouts are made here, at compile time; the unpacking is two shifts
// (4-bit) or nothing (8-bit) per 16 codes, and no float copy of a weight
// exists at any time.
//
// Integer codes are converted (sitofp / uitofp). Float codes are decoded
// with integer ops alone, no table: their sign, exponent and mantissa are
// moved to where an f32 keeps them, which gives the code's value times a
// power of two, exactly for normal and subnormal codes alike:
//
//   e4m3fn  bits = ((x & 0x7F) << 20) | ((x & 0x80) << 24)   value * 2^-120
//   e2m1    bits = ((x & 0x7) << 22) | ((x & 0x8) << 28)     value * 2^-126
//
// The 2^120 or 2^126 is folded into the group scales at compile time, as
// are a global scale (NVFP4) and the conversion of e8m0 / e4m3 scales to
// f32. Block shapes [bn, bk] (fp8's 128x128 blocks, per tensor, per
// channel, groups along K) become per-column groups of g = gcd(K, bk)
// along K, so every kernel group lies in one block.
//
// Converted: int4 and int8 codes (signed or unsigned, with or without zero
// points), e4m3fn and e2m1 codes (no zero points; an e4m3fn NaN code keeps
// the reference lowering), any block shape with g = gcd(K, bk) even,
// scales of any float type, an optional global scale, f32 activations, N a
// multiple of 32, constant weights, scales, zero points and global scale,
// and folded scales that stay finite and normal in f32. Others keep the
// reference lowering.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"
#include "PanelPacking.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"
#include "kiln/passes/KilnToLinalg/QLinearGeometry.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_CONVERTQUANTIZEDLINEARSTOVECTORKERNELS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// f32 lanes of one vector register (AVX-512); a panel is two of them.
constexpr int64_t kLanes = 16;
constexpr int64_t kPanelColumns = 2 * kLanes;
/// Partial sums per row and half panel: one per parity of k.
constexpr int64_t kChains = 2;

/// What the codes are: integers, or fp8 / fp4 bit patterns.
enum class CodeFormat { Int, E4M3, E2M1 };

/// A kiln.qlinear the kernel handles, with its sizes.
struct QuantizedLinear : QLinearGeometry, QLinearConstants {
  QLinearOp op;
  CodeFormat format;
  int64_t bits = 0;

  int64_t panels() const { return n / kPanelColumns; }
  int64_t codeBytes() const { return bits == 4 ? kLanes : kPanelColumns; }
  /// The power of two that the decoded float codes lack (see the top of
  /// the file), folded into the scales.
  int decodeExponent() const {
    return format == CodeFormat::E4M3   ? 120
           : format == CodeFormat::E2M1 ? 126
                                        : 0;
  }
};

std::optional<QuantizedLinear> matchQuantizedLinear(QLinearOp op) {
  QuantizedLinear q;
  q.op = op;
  auto inputType = cast<RankedTensorType>(op.getInput().getType());
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  if (!q.read(op) || !inputType.hasStaticShape() ||
      !inputType.getElementType().isF32())
    return std::nullopt;
  Type codeType = weightType.getElementType();
  if (auto intType = dyn_cast<IntegerType>(codeType)) {
    if (intType.getWidth() != 4 && intType.getWidth() != 8)
      return std::nullopt;
    q.format = CodeFormat::Int;
    q.bits = intType.getWidth();
  } else if (isa<Float8E4M3FNType>(codeType)) {
    q.format = CodeFormat::E4M3;
    q.bits = 8;
  } else if (isa<Float4E2M1FNType>(codeType)) {
    q.format = CodeFormat::E2M1;
    q.bits = 4;
  } else {
    return std::nullopt;
  }
  if (q.format != CodeFormat::Int && q.zeroPoints)
    return std::nullopt;
  static_cast<QLinearGeometry &>(q) = QLinearGeometry::of(op);
  if (q.groupSize % kChains != 0 || q.n % kPanelColumns != 0)
    return std::nullopt;
  return q;
}

/// Code `index` (one byte each in MLIR's storage) as the integer it stands
/// for: sign-extended from `bits` unless unsigned.
int32_t codeValue(const std::vector<char> &bytes, size_t index, int64_t bits,
                  bool isUnsigned) {
  uint32_t raw = uint8_t(bytes[index]) & ((1u << bits) - 1);
  if (isUnsigned || !(raw >> (bits - 1)))
    return int32_t(raw);
  return int32_t(raw) - (1 << bits);
}

/// The codes as the panels described at the top of the file.
std::optional<std::vector<char>> packCodes(const QuantizedLinear &q) {
  std::optional<std::vector<char>> bytes = constantBytes(q.codes);
  if (!bytes || bytes->size() != size_t(q.n * q.k))
    return std::nullopt;
  std::vector<char> packed(q.n * q.k * q.bits / 8);
  int64_t width = q.codeBytes();
  for (int64_t col = 0; col < q.n; ++col) {
    int64_t panel = col / kPanelColumns, lane = col % kPanelColumns;
    for (int64_t k = 0; k < q.k; ++k) {
      uint8_t code = uint8_t((*bytes)[col * q.k + k]);
      // The decode has no NaN: 0x7F would read as 480.
      if (q.format == CodeFormat::E4M3 && (code & 0x7F) == 0x7F)
        return std::nullopt;
      size_t to = (panel * q.k + k) * width + lane % width;
      if (q.bits == 8)
        packed[to] = char(code);
      else
        packed[to] |= char((code & 0xF) << (lane < kLanes ? 0 : 4));
    }
  }
  return packed;
}

/// A per-block parameter [ceil(N / bn), ceil(K / bk)] as [N / 32][K / g][32],
/// each element converted by `element` into `width` bytes.
template <typename Fn>
std::vector<char> packGroupParams(const QuantizedLinear &q, size_t width,
                                  Fn element) {
  int64_t groups = q.groups();
  std::vector<char> packed(q.n * groups * width);
  for (int64_t col = 0; col < q.n; ++col)
    for (int64_t g = 0; g < groups; ++g) {
      size_t to = ((col / kPanelColumns) * groups + g) * kPanelColumns +
                  col % kPanelColumns;
      element(&packed[to * width], q.paramIndex(col, g));
    }
  return packed;
}

/// The scales as the f32 the kernel multiplies by: converted from their
/// type, times the global scale and the power of two the float decode
/// leaves out. None when one would not be a finite, normal f32 (or zero).
std::optional<std::vector<float>> kernelScales(const QuantizedLinear &q) {
  std::optional<std::vector<double>> scales = constantFloats(q.scales);
  double factor = std::ldexp(1.0, q.decodeExponent());
  if (q.globalScale) {
    std::optional<std::vector<double>> global = constantFloats(q.globalScale);
    if (!global || global->size() != 1)
      return std::nullopt;
    factor *= (*global)[0];
  }
  if (!scales)
    return std::nullopt;
  std::vector<float> out;
  out.reserve(scales->size());
  for (double s : *scales) {
    float f = float(s * factor);
    if (!std::isfinite(f) ||
        (f != 0 && std::fabs(f) < std::numeric_limits<float>::min()))
      return std::nullopt;
    out.push_back(f);
  }
  return out;
}

/// The compile-time constants the kernel reads.
struct PackedOperands {
  Value codes, scales, zeroPoints;
};

std::optional<PackedOperands> packOperands(OpBuilder &b,
                                           const QuantizedLinear &q) {
  std::optional<std::vector<char>> codes = packCodes(q);
  std::optional<std::vector<float>> scales = kernelScales(q);
  std::optional<std::vector<char>> zeros =
      q.zeroPoints ? constantBytes(q.zeroPoints) : std::nullopt;
  size_t params = size_t(q.scales.getNumElements());
  if (!codes || !scales || scales->size() != params ||
      (q.zeroPoints && (!zeros || zeros->size() != params)))
    return std::nullopt;

  // Packed constants keep the weight's location: kiln-outline-weights
  // names the artifact's weights after it.
  Location loc = QLinearOp(q.op).getWeight().getLoc();
  Type i8 = b.getI8Type();
  PackedOperands packed;
  packed.codes = makeConstant(b, loc, {q.panels(), q.k, q.codeBytes()}, i8,
                              *codes, "quantized_panels");
  SmallVector<int64_t> paramShape = {q.panels(), q.groups(), kPanelColumns};
  packed.scales = makeConstant(
      b, loc, paramShape, b.getF32Type(),
      packGroupParams(q, 4,
                      [&](char *to, size_t from) {
                        std::memcpy(to, &(*scales)[from], 4);
                      }),
      "quantized_panel_scales");
  if (zeros)
    packed.zeroPoints = makeConstant(
        b, loc, paramShape, i8,
        packGroupParams(q, 1,
                        [&](char *to, size_t from) {
                          *to = char(codeValue(*zeros, from, q.bits,
                                               q.isUnsigned));
                        }),
        "quantized_panel_zero_points");
  return packed;
}

/// Builds the loops of one kernel; `x` is the input as [M, K].
struct KernelBuilder {
  const QuantizedLinear &q;
  PackedOperands packed;
  Value x, bias;
  Location loc;

  VectorType f32Vector(OpBuilder &b) const {
    return VectorType::get({kLanes}, b.getF32Type());
  }
  VectorType i8Vector(OpBuilder &b) const {
    return VectorType::get({kLanes}, b.getI8Type());
  }
  Value index(OpBuilder &b, int64_t v) const {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value read(OpBuilder &b, VectorType type, Value source,
             ValueRange indices) const {
    Value padding = arith::ConstantOp::create(
        b, loc, b.getZeroAttr(type.getElementType()));
    return vector::TransferReadOp::create(b, loc, type, source, indices,
                                          padding, ArrayRef<bool>{true});
  }
  Value halfOffset(OpBuilder &b, int64_t half) const {
    return index(b, half * kLanes);
  }

  /// The two halves of a [.., 32] row of `params` at (p, g).
  std::array<Value, 2> readParams(OpBuilder &b, Value params, VectorType type,
                                  Value p, Value g) const {
    return {read(b, type, params, {p, g, halfOffset(b, 0)}),
            read(b, type, params, {p, g, halfOffset(b, 1)})};
  }

  /// Codes of panel p at k, decoded (minus the zero points), as two
  /// vector<16xf32>.
  std::array<Value, 2> decode(OpBuilder &b, Value p, Value k,
                              ArrayRef<Value> zeros) const {
    std::array<Value, 2> ints;
    VectorType bytes = i8Vector(b);
    if (q.bits == 8) {
      ints = readParams(b, packed.codes, bytes, p, k);
    } else {
      Value raw = read(b, bytes, packed.codes, {p, k, index(b, 0)});
      auto four = arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(4)));
      if (q.isUnsigned || q.format != CodeFormat::Int) {
        auto mask = arith::ConstantOp::create(
            b, loc, DenseElementsAttr::get(bytes, b.getI8IntegerAttr(0xF)));
        ints = {arith::AndIOp::create(b, loc, raw, mask),
                arith::ShRUIOp::create(b, loc, raw, four)};
      } else {
        ints = {arith::ShRSIOp::create(
                    b, loc, arith::ShLIOp::create(b, loc, raw, four), four),
                arith::ShRSIOp::create(b, loc, raw, four)};
      }
    }
    std::array<Value, 2> floats;
    for (int half = 0; half < 2; ++half)
      floats[half] =
          q.format == CodeFormat::Int
              ? toFloat(b, ints[half], zeros.empty() ? Value() : zeros[half])
              : floatBits(b, ints[half]);
    return floats;
  }

  /// fp8 / fp4 codes (one a byte) as f32: sign, exponent and mantissa
  /// moved to their places in an f32, which is the code's value times
  /// 2^-decodeExponent() (normal and subnormal codes alike).
  Value floatBits(OpBuilder &b, Value codes) const {
    auto words = VectorType::get({kLanes}, b.getI32Type());
    Value wide = arith::ExtUIOp::create(b, loc, words, codes);
    auto splat = [&](int32_t v) -> Value {
      return arith::ConstantOp::create(
          b, loc, DenseElementsAttr::get(words, b.getI32IntegerAttr(v)));
    };
    auto field = [&](int32_t mask, int32_t shift) -> Value {
      Value masked = arith::AndIOp::create(b, loc, wide, splat(mask));
      return arith::ShLIOp::create(b, loc, masked, splat(shift));
    };
    bool fp8 = q.format == CodeFormat::E4M3;
    Value magnitude = fp8 ? field(0x7F, 20) : field(0x7, 22);
    Value sign = fp8 ? field(0x80, 24) : field(0x8, 28);
    Value bits = arith::OrIOp::create(b, loc, magnitude, sign);
    return arith::BitcastOp::create(b, loc, f32Vector(b), bits);
  }

  /// `codes` - `zeros` as f32. 4-bit differences fit in i8; 8-bit ones are
  /// taken in i32.
  Value toFloat(OpBuilder &b, Value codes, Value zeros) const {
    VectorType floats = f32Vector(b);
    if (!zeros)
      return q.isUnsigned ? arith::UIToFPOp::create(b, loc, floats, codes)
                                .getResult()
                          : arith::SIToFPOp::create(b, loc, floats, codes)
                                .getResult();
    if (q.bits == 8) {
      auto wide = VectorType::get({kLanes}, b.getI32Type());
      auto extend = [&](Value v) -> Value {
        if (q.isUnsigned)
          return arith::ExtUIOp::create(b, loc, wide, v);
        return arith::ExtSIOp::create(b, loc, wide, v);
      };
      codes = extend(codes);
      zeros = extend(zeros);
    }
    return arith::SIToFPOp::create(b, loc, floats,
                                   arith::SubIOp::create(b, loc, codes, zeros));
  }

  Value zeroVector(OpBuilder &b) const {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(f32Vector(b), b.getF32FloatAttr(0)));
  }

  /// One group's partial sums for `rows` rows from m0: kChains x rows x 2
  /// vectors, flattened as [chain][row][half].
  SmallVector<Value> groupSums(OpBuilder &b, Value p, Value m0, Value g,
                               int64_t rows) const {
    SmallVector<Value> zerosInit(kChains * rows * 2, zeroVector(b));
    SmallVector<Value> zeroPoints;
    if (packed.zeroPoints) {
      std::array<Value, 2> z =
          readParams(b, packed.zeroPoints, i8Vector(b), p, g);
      zeroPoints.assign(z.begin(), z.end());
    }
    Value k0 = arith::MulIOp::create(b, loc, g, index(b, q.groupSize));
    auto loop = scf::ForOp::create(
        b, loc, index(b, 0), index(b, q.groupSize), index(b, kChains),
        zerosInit, [&](OpBuilder &lb, Location, Value kk, ValueRange sums) {
          SmallVector<Value> next(sums.begin(), sums.end());
          for (int64_t chain = 0; chain < kChains; ++chain) {
            Value k = arith::AddIOp::create(
                lb, loc, k0,
                arith::AddIOp::create(lb, loc, kk, index(lb, chain)));
            std::array<Value, 2> w = decode(lb, p, k, zeroPoints);
            for (int64_t r = 0; r < rows; ++r) {
              Value row = arith::AddIOp::create(lb, loc, m0, index(lb, r));
              Value xs = tensor::ExtractOp::create(lb, loc, x,
                                                   ValueRange{row, k});
              Value xb = vector::BroadcastOp::create(lb, loc, f32Vector(lb), xs);
              for (int half = 0; half < 2; ++half) {
                Value &sum = next[(chain * rows + r) * 2 + half];
                sum = vector::FMAOp::create(lb, loc, xb, w[half], sum);
              }
            }
          }
          scf::YieldOp::create(lb, loc, next);
        });
    return SmallVector<Value>(loop.getResults());
  }

  /// Rows m0 .. m0 + rows of panel p's [M, 32] block.
  Value rowBlock(OpBuilder &b, Value p, Value m0, int64_t rows,
                 Value block) const {
    SmallVector<Value> accInit(rows * 2, zeroVector(b));
    auto groups = scf::ForOp::create(
        b, loc, index(b, 0), index(b, q.groups()), index(b, 1), accInit,
        [&](OpBuilder &gb, Location, Value g, ValueRange acc) {
          SmallVector<Value> sums = groupSums(gb, p, m0, g, rows);
          std::array<Value, 2> scale =
              readParams(gb, packed.scales, f32Vector(gb), p, g);
          SmallVector<Value> next(acc.begin(), acc.end());
          for (int64_t r = 0; r < rows; ++r)
            for (int half = 0; half < 2; ++half) {
              Value sum = sums[r * 2 + half];
              for (int64_t chain = 1; chain < kChains; ++chain)
                sum = arith::AddFOp::create(
                    gb, loc, sum, sums[(chain * rows + r) * 2 + half]);
              Value &a = next[r * 2 + half];
              a = vector::FMAOp::create(gb, loc, sum, scale[half], a);
            }
          scf::YieldOp::create(gb, loc, next);
        });
    Value columns = arith::MulIOp::create(b, loc, p, index(b, kPanelColumns));
    for (int half = 0; half < 2; ++half) {
      Value biasHalf;
      if (bias)
        biasHalf = read(b, f32Vector(b), bias,
                        {arith::AddIOp::create(b, loc, columns,
                                               halfOffset(b, half))});
      for (int64_t r = 0; r < rows; ++r) {
        Value out = groups.getResult(r * 2 + half);
        if (biasHalf)
          out = arith::AddFOp::create(b, loc, out, biasHalf);
        Value row = arith::AddIOp::create(b, loc, m0, index(b, r));
        block = vector::TransferWriteOp::create(
                    b, loc, out, block, ValueRange{row, halfOffset(b, half)},
                    ArrayRef<bool>{true})
                    .getResult();
      }
    }
    return block;
  }

};

LogicalResult convert(RewriterBase &rewriter, const QuantizedLinear &q,
                      int64_t rows, bool parallel) {
  QLinearOp op = q.op;
  rewriter.setInsertionPoint(op);
  std::optional<PackedOperands> packed = packOperands(rewriter, q);
  if (!packed)
    return failure();
  Location loc = op.getLoc();
  auto matrixType = RankedTensorType::get({q.m, q.k}, rewriter.getF32Type());
  KernelBuilder kernel{q, *packed,
                       reshapeTensor(rewriter, loc, op.getInput(), matrixType),
                       op.getBias(), loc};
  bool threads = parallel && q.m * q.n * q.k >= kMinParallelMacs;
  Value y = buildPanelLoop(
      rewriter, loc, RankedTensorType::get({q.m, q.n}, rewriter.getF32Type()),
      kPanelColumns, rows, threads,
      [&](OpBuilder &b, Value p, Value m0, int64_t n, Value block) {
        return kernel.rowBlock(b, p, m0, n, block);
      });
  return finishKernelRewrite(
      rewriter, op, y,
      {op.getWeight(), op.getScale(), op.getZeroPoint(), op.getGlobalScale()});
}

struct ConvertQuantizedLinearsToVectorKernelsPass
    : kiln::impl::ConvertQuantizedLinearsToVectorKernelsBase<
          ConvertQuantizedLinearsToVectorKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(checkBlockSizes(getOperation(), "rows", {rows})))
      return signalPassFailure();
    std::vector<QuantizedLinear> work =
        collectMatches<QLinearOp>(getOperation(), matchQuantizedLinear);
    IRRewriter rewriter(&getContext());
    for (const QuantizedLinear &q : work)
      (void)convert(rewriter, q, rows, parallel);
  }
};

} // namespace
