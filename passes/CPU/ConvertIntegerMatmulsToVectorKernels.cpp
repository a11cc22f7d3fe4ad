//===- ConvertIntegerMatmulsToVectorKernels.cpp - int8 dot products -------===//
//
// ONNX's MatMulInteger and QLinearMatMul (and DynamicQuantizeLinear +
// MatMulInteger, the dynamically quantized linear layer) import as an exact
// i32 product of zero-point-centred operands:
//
//   kiln.matmul (kiln.cast(x : i8) [- a_zp]), (kiln.cast(W : i8) [- b_zp])
//
// whose reference lowering widens every byte to i32 and multiplies them one
// at a time. With constant weights, AVX-512 VNNI's vpdpbusd does 64 of
// those multiply-adds per instruction: for each 32-bit lane it adds the
// dot product of 4 unsigned bytes of one operand and 4 signed bytes of the
// other to an i32 accumulator. The operands are brought to that form, and
// the zero points moved out of the product, by one identity:
//
//   w[k, n] = v[k, n] + c[n]       v in int8; c[n] = 0 when column n fits,
//                                  else min(column) + 128
//   x[m, k] - a_zp[m] = u[m, k] - d[m]
//                                  u = x (uint8) or x + 128 (int8: the top
//                                  bit flipped), d[m] = a_zp[m] (+ 128)
//   y[m, n] = sum_k u v + c[n] * rowsum(u)[m] - d[m] * colsum(w)[n]
//
// v, c and colsum(w) are computed here at compile time; rowsum(u) once per
// call, and only when some c[n] is not 0. All of it is exact modulo 2^32,
// as the reference's i32 arithmetic is.
//
// The weights are packed into the VNNI layout, P = 16 * vectors columns a
// panel:
//
//   packed[N/P][ceil(K/4)][vectors][16 lanes][4 bytes]     int8, zero-padded
//
//   for p in panels (threads when the product is large):
//     for each block of `rows` rows m:
//       acc[m][0..vectors) = 0                       vector<16xi32> each
//       for q in groups of 4 k values:
//         w[j] = the 64 bytes of packed[p][q][j]
//         for each row: a = x[m, 4q .. 4q + 4) as one i32, broadcast
//           acc[m][j] = vpdpbusd(acc[m][j], a, w[j])
//       y[m, panel p] = acc[m] + c * rowsum[m] - d[m] * colsum
//
// The last group of a K that is not a multiple of 4 is read bounded (the
// weights' padding is 0, so the activations' padding does not matter); N is
// computed padded to whole panels and sliced.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/CPU/Passes.h"

#include "KernelRewrites.h"
#include "PanelPacking.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/passes/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_CONVERTINTEGERMATMULSTOVECTORKERNELS
#include "kiln/passes/CPU/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// i32 lanes of one 512-bit vector; 4 k values (bytes) share a lane.
constexpr int64_t kLanes = 16;
constexpr int64_t kGroup = 4;
constexpr int64_t kVectorBytes = kLanes * kGroup;

enum class DotProduct { Vnni, Generic };

/// The LLVM intrinsic of vpdpbusd (512 bits; LLVM 22 takes the bytes as
/// <64 x i8>), called as an external function of that name: LLVM takes a
/// declaration named `llvm.*` for the intrinsic. A call, unlike
/// llvm.call_intrinsic, has memory effects the buffer deallocation pipeline
/// understands (none).
constexpr llvm::StringLiteral kVpdpbusd = "llvm.x86.avx512.vpdpbusd.512";

/// Declares kVpdpbusd in `module` unless it is there.
void declareVpdpbusd(ModuleOp module) {
  if (module.lookupSymbol(kVpdpbusd))
    return;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  auto words = VectorType::get({16}, b.getI32Type());
  auto bytes = VectorType::get({64}, b.getI8Type());
  auto decl =
      func::FuncOp::create(b, module.getLoc(), kVpdpbusd,
                           b.getFunctionType({words, bytes, bytes}, {words}));
  decl.setPrivate();
}

/// A constant integer tensor of 8, 16 or 32 bits read in place as i32
/// values (sign-extended, then masked to the width of an unsigned
/// widening): the products are i32, so everything about the weights is
/// computed modulo 2^32. `bytes` points into the constant's storage (or
/// `copy`, whose buffer a move keeps in place).
struct IntConstant {
  SmallVector<int64_t> shape;
  std::vector<char> copy;
  ArrayRef<char> bytes;
  unsigned width = 1;
  uint32_t mask = ~0u;

  IntConstant() = default;
  IntConstant(IntConstant &&) = default;
  IntConstant &operator=(IntConstant &&) = default;
  // A copy's `bytes` would point into the original's `copy`.
  IntConstant(const IntConstant &) = delete;
  IntConstant &operator=(const IntConstant &) = delete;

  size_t size() const { return bytes.size() / width; }
  int32_t at(size_t i) const {
    const char *p = bytes.data() + i * width;
    int32_t v;
    if (width == 1) {
      v = int8_t(*p);
    } else if (width == 2) {
      int16_t x;
      std::memcpy(&x, p, 2);
      v = x;
    } else {
      std::memcpy(&v, p, 4);
    }
    return int32_t(uint32_t(v) & mask);
  }
};

/// An integer constant of 8, 16 or 32 bits.
std::optional<IntConstant> readIntConstant(Value v) {
  ElementsAttr attr = constantElements(v);
  auto type = attr ? dyn_cast<RankedTensorType>(attr.getType()) : nullptr;
  auto intType = type ? dyn_cast<IntegerType>(type.getElementType()) : nullptr;
  if (!intType || !llvm::is_contained({8u, 16u, 32u}, intType.getWidth()))
    return std::nullopt;
  IntConstant c;
  c.shape.assign(type.getShape().begin(), type.getShape().end());
  c.width = intType.getWidth() / 8;
  std::optional<ArrayRef<char>> bytes = constantBytes(attr, c.copy);
  if (!bytes || bytes->size() != size_t(type.getNumElements()) * c.width)
    return std::nullopt;
  c.bytes = *bytes;
  return c;
}

/// A constant, or a constant widened to i32 by kiln.cast (zero-extended
/// with is_unsigned).
std::optional<IntConstant> readWidenedConstant(Value v) {
  auto cast = v.getDefiningOp<CastOp>();
  if (!cast)
    return readIntConstant(v);
  auto from =
      dyn_cast<IntegerType>(getElementTypeOrSelf(cast.getInput().getType()));
  if (!from || from.getWidth() > 32)
    return std::nullopt;
  std::optional<IntConstant> c = readIntConstant(cast.getInput());
  if (c && cast.getIsUnsigned() && from.getWidth() < 32)
    c->mask = (1u << from.getWidth()) - 1;
  return c;
}

/// The constant right operand `[K, N]` of an i32 product: a (widened)
/// constant, minus an optional (widened) constant zero point that is one
/// value or one per column.
struct ConstantWeights {
  IntConstant values, zeroPoints;
  bool hasZeroPoints = false, perColumn = false;
  int64_t n = 0;

  int32_t at(int64_t k, int64_t col) const {
    uint32_t v = uint32_t(values.at(k * n + col));
    if (hasZeroPoints)
      v -= uint32_t(zeroPoints.at(perColumn ? col : 0));
    return int32_t(v);
  }
};

std::optional<ConstantWeights> constantWeights(Value rhs, int64_t k,
                                               int64_t n) {
  ConstantWeights w;
  w.n = n;
  Value zeroPoint;
  if (auto sub = rhs.getDefiningOp<SubOp>()) {
    rhs = sub.getLhs();
    zeroPoint = sub.getRhs();
  }
  std::optional<IntConstant> values = readWidenedConstant(rhs);
  if (!values || values->size() != size_t(k * n) || values->shape.size() != 2)
    return std::nullopt;
  w.values = std::move(*values);
  if (zeroPoint) {
    std::optional<IntConstant> z = readWidenedConstant(zeroPoint);
    if (!z)
      return std::nullopt;
    w.hasZeroPoints = true;
    w.perColumn = z->size() == size_t(n) && !z->shape.empty() &&
                  z->shape.back() == n && n > 1;
    if (!w.perColumn && z->size() != 1)
      return std::nullopt;
    w.zeroPoints = std::move(*z);
  }
  return w;
}

/// A kiln.matmul the kernel handles.
struct IntegerMatmul {
  MatmulOp op;
  /// The 8-bit activations, any shape whose last dimension is K.
  Value x;
  bool xSigned;
  /// The i32 activation zero point: none, one value (all dimensions 1) or
  /// one per row ([M, 1] of a 2-D operand).
  Value zeroPoint;
  bool perRowZeroPoint = false;
  ConstantWeights weights;
  int64_t m, k, n;
};

std::optional<IntegerMatmul> matchIntegerMatmul(MatmulOp op) {
  auto lhsType = cast<RankedTensorType>(op.getLhs().getType());
  auto rhsType = cast<RankedTensorType>(op.getRhs().getType());
  auto resultType = cast<RankedTensorType>(op.getType());
  if (!lhsType.getElementType().isInteger(32) || rhsType.getRank() != 2 ||
      !lhsType.hasStaticShape() || !rhsType.hasStaticShape() ||
      !resultType.hasStaticShape())
    return std::nullopt;
  IntegerMatmul q;
  q.op = op;
  q.k = rhsType.getDimSize(0);
  q.n = rhsType.getDimSize(1);
  q.m = lhsType.getNumElements() / std::max<int64_t>(q.k, 1);
  if (q.k == 0 || q.n == 0 || q.m == 0 || lhsType.getShape().back() != q.k)
    return std::nullopt;

  // The activations: [reshape of] [cast(x) - zero point | cast(x)].
  Value lhs = op.getLhs();
  if (auto reshape = lhs.getDefiningOp<ReshapeOp>()) {
    auto from = cast<RankedTensorType>(reshape.getInput().getType());
    if (from.getRank() == 0 || from.getShape().back() != q.k)
      return std::nullopt;
    lhs = reshape.getInput();
  }
  if (auto sub = lhs.getDefiningOp<SubOp>()) {
    auto centred = cast<RankedTensorType>(sub.getLhs().getType());
    auto zpType = dyn_cast<RankedTensorType>(sub.getRhs().getType());
    if (!zpType || !zpType.hasStaticShape() ||
        centred != cast<RankedTensorType>(sub.getType()))
      return std::nullopt;
    if (zpType.getNumElements() == 1 && zpType.getRank() <= centred.getRank()) {
      q.perRowZeroPoint = false;
    } else if (centred.getRank() == 2 && zpType.getRank() == 2 &&
               zpType.getDimSize(0) == centred.getDimSize(0) &&
               zpType.getDimSize(1) == 1) {
      q.perRowZeroPoint = true;
    } else {
      return std::nullopt;
    }
    q.zeroPoint = sub.getRhs();
    lhs = sub.getLhs();
  }
  auto cast = lhs.getDefiningOp<CastOp>();
  if (!cast || !getElementTypeOrSelf(cast.getInput().getType()).isInteger(8))
    return std::nullopt;
  q.x = cast.getInput();
  q.xSigned = !cast.getIsUnsigned();

  std::optional<ConstantWeights> w = constantWeights(op.getRhs(), q.k, q.n);
  if (!w)
    return std::nullopt;
  q.weights = std::move(*w);
  return q;
}

/// The compile-time half of the identity at the top of the file.
struct PackedWeights {
  AsmResourceBlob bytes;           // [panels][groups][vectors * 64]
  std::vector<int32_t> offsets;    // c[n], [panels * P]
  std::vector<int32_t> columnSums; // colsum(w)[n], [panels * P]
  bool anyOffset = false;
};

std::optional<PackedWeights> packWeights(const IntegerMatmul &q,
                                         int64_t vectors) {
  int64_t width = kLanes * vectors;
  int64_t panels = (q.n + width - 1) / width;
  int64_t groups = (q.k + kGroup - 1) / kGroup;
  PackedWeights packed;
  packed.offsets.assign(panels * width, 0);
  packed.columnSums.assign(panels * width, 0);
  // Row-major passes over the weights (a column at a time would stride
  // through all of them N times): ranges and sums per column, then the
  // bytes, written straight into the new constant's blob.
  std::vector<int32_t> lo(q.n, INT32_MAX), hi(q.n, INT32_MIN);
  std::vector<uint32_t> sums(q.n, 0);
  for (int64_t k = 0; k < q.k; ++k)
    for (int64_t col = 0; col < q.n; ++col) {
      int32_t w = q.weights.at(k, col);
      lo[col] = std::min(lo[col], w);
      hi[col] = std::max(hi[col], w);
      sums[col] += uint32_t(w);
    }
  for (int64_t col = 0; col < q.n; ++col) {
    // A column needs its values within 256 of each other to be int8 after
    // one shift.
    if (int64_t(hi[col]) - lo[col] > 255)
      return std::nullopt;
    bool fits = lo[col] >= -128 && hi[col] <= 127;
    packed.offsets[col] = fits ? 0 : lo[col] + 128;
    packed.columnSums[col] = int32_t(sums[col]);
    packed.anyOffset |= !fits;
  }
  size_t size = panels * groups * vectors * kVectorBytes;
  packed.bytes = allocateConstantBlob(size);
  char *to = packed.bytes.getMutableData().data();
  std::memset(to, 0, size);
  for (int64_t k = 0; k < q.k; ++k) {
    size_t group = (k / kGroup) * vectors * kVectorBytes + k % kGroup;
    for (int64_t col = 0; col < q.n; ++col) {
      int64_t panel = col / width, vector = (col % width) / kLanes,
              lane = col % kLanes;
      to[panel * groups * vectors * kVectorBytes + group +
         vector * kVectorBytes + lane * kGroup] =
          char(int8_t(q.weights.at(k, col) - packed.offsets[col]));
    }
  }
  return packed;
}

ArrayRef<char> asBytes(const std::vector<int32_t> &v) {
  return ArrayRef<char>(reinterpret_cast<const char *>(v.data()),
                        v.size() * sizeof(int32_t));
}

/// Builds the loops of one kernel; `x` is the activations as [M, K] i8.
struct KernelBuilder {
  const IntegerMatmul &q;
  DotProduct dot;
  int64_t vectors;
  Value packed, offsets, columnSums, rowSums, x;
  Location loc;

  int64_t width() const { return kLanes * vectors; }
  int64_t panels() const { return (q.n + width() - 1) / width(); }
  int64_t fullGroups() const { return q.k / kGroup; }

  VectorType i32Vector(OpBuilder &b) const {
    return VectorType::get({kLanes}, b.getI32Type());
  }
  Value index(OpBuilder &b, int64_t v) const {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value i32(OpBuilder &b, int32_t v) const {
    return arith::ConstantIntOp::create(b, loc, v, 32);
  }
  Value splat(OpBuilder &b, Value scalar) const {
    return vector::BroadcastOp::create(b, loc, i32Vector(b), scalar);
  }
  Value zeroVector(OpBuilder &b) const {
    return arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(i32Vector(b), b.getI32IntegerAttr(0)));
  }
  Value read(OpBuilder &b, VectorType type, Value source, ValueRange indices,
             bool inBounds = true) const {
    Value padding =
        arith::ConstantOp::create(b, loc, b.getZeroAttr(type.getElementType()));
    return vector::TransferReadOp::create(b, loc, type, source, indices,
                                          padding, ArrayRef<bool>{inBounds});
  }

  /// The 16 lanes of 4 weight bytes of vector j of panel p, group g.
  Value weights(OpBuilder &b, Value p, Value g, int64_t j) const {
    auto bytes = VectorType::get({kVectorBytes}, b.getI8Type());
    Value v = read(b, bytes, packed, {p, g, index(b, j * kVectorBytes)});
    return vector::BitCastOp::create(b, loc, i32Vector(b), v);
  }

  /// Row `row`'s activations k0 .. k0 + 4 as one i32 in every lane, as
  /// unsigned bytes (int8 ones with their top bit flipped: + 128).
  Value activations(OpBuilder &b, Value row, Value k0, bool inBounds) const {
    auto quad = VectorType::get({kGroup}, b.getI8Type());
    Value bytes = read(b, quad, x, {row, k0}, inBounds);
    Value word = vector::BitCastOp::create(
        b, loc, VectorType::get({1}, b.getI32Type()), bytes);
    Value scalar =
        vector::ExtractOp::create(b, loc, word, ArrayRef<int64_t>{0});
    Value lanes = splat(b, scalar);
    if (q.xSigned)
      lanes = arith::XOrIOp::create(b, loc, lanes,
                                    splat(b, i32(b, int32_t(0x80808080u))));
    return lanes;
  }

  /// acc + the dot products of the 4 unsigned bytes of `a` and the 4
  /// signed bytes of `w` in each lane.
  Value dotProduct(OpBuilder &b, Value acc, Value a, Value w) const {
    VectorType type = i32Vector(b);
    auto bytes = VectorType::get({kVectorBytes}, b.getI8Type());
    Value a8 = vector::BitCastOp::create(b, loc, bytes, a);
    Value w8 = vector::BitCastOp::create(b, loc, bytes, w);
    if (dot == DotProduct::Vnni)
      return func::CallOp::create(b, loc, kVpdpbusd, TypeRange{type},
                                  ValueRange{acc, a8, w8})
          .getResult(0);
    // Byte i of every lane, as 16 bytes: a shuffle per position.
    for (int64_t i = 0; i < kGroup; ++i) {
      SmallVector<int64_t> lanes;
      for (int64_t l = 0; l < kLanes; ++l)
        lanes.push_back(l * kGroup + i);
      Value ai = arith::ExtUIOp::create(
          b, loc, type, vector::ShuffleOp::create(b, loc, a8, a8, lanes));
      Value wi = arith::ExtSIOp::create(
          b, loc, type, vector::ShuffleOp::create(b, loc, w8, w8, lanes));
      acc = arith::AddIOp::create(b, loc, acc,
                                  arith::MulIOp::create(b, loc, ai, wi));
    }
    return acc;
  }

  /// One step of 4 k values (group g) for `rows` rows from m0.
  SmallVector<Value> step(OpBuilder &b, Value p, Value g, Value m0,
                          int64_t rows, ValueRange acc, bool inBounds) const {
    SmallVector<Value> next(acc.begin(), acc.end());
    SmallVector<Value> w;
    for (int64_t j = 0; j < vectors; ++j)
      w.push_back(weights(b, p, g, j));
    Value k0 = arith::MulIOp::create(b, loc, g, index(b, kGroup));
    for (int64_t r = 0; r < rows; ++r) {
      Value row = arith::AddIOp::create(b, loc, m0, index(b, r));
      Value a = activations(b, row, k0, inBounds);
      for (int64_t j = 0; j < vectors; ++j) {
        Value &sum = next[r * vectors + j];
        sum = dotProduct(b, sum, a, w[j]);
      }
    }
    return next;
  }

  /// d[row] = a_zp[row] (+ 128 for int8 activations), or nothing when 0.
  Value rowZeroPoint(OpBuilder &b, Value row) const {
    Value d;
    if (q.zeroPoint) {
      auto type = cast<RankedTensorType>(q.zeroPoint.getType());
      SmallVector<Value> at(type.getRank(), index(b, 0));
      if (q.perRowZeroPoint)
        at[0] = row;
      d = tensor::ExtractOp::create(b, loc, q.zeroPoint, at);
    }
    if (q.xSigned)
      d = d ? arith::AddIOp::create(b, loc, d, i32(b, 128)).getResult()
            : i32(b, 128);
    return d;
  }

  /// Rows m0 .. m0 + rows of panel p's [M, P] block.
  Value rowBlock(OpBuilder &b, Value p, Value m0, int64_t rows,
                 Value block) const {
    SmallVector<Value> init(rows * vectors, zeroVector(b));
    auto loop = scf::ForOp::create(
        b, loc, index(b, 0), index(b, fullGroups()), index(b, 1), init,
        [&](OpBuilder &lb, Location, Value g, ValueRange acc) {
          scf::YieldOp::create(lb, loc, step(lb, p, g, m0, rows, acc, true));
        });
    SmallVector<Value> acc(loop.getResults());
    if (q.k % kGroup)
      acc = step(b, p, index(b, fullGroups()), m0, rows, acc, false);

    Value column0 = arith::MulIOp::create(b, loc, p, index(b, width()));
    for (int64_t j = 0; j < vectors; ++j) {
      Value column =
          arith::AddIOp::create(b, loc, column0, index(b, j * kLanes));
      Value sums = read(b, i32Vector(b), columnSums, {column});
      Value shift =
          rowSums ? read(b, i32Vector(b), offsets, {column}) : Value();
      for (int64_t r = 0; r < rows; ++r) {
        Value row = arith::AddIOp::create(b, loc, m0, index(b, r));
        Value out = acc[r * vectors + j];
        if (rowSums) {
          Value rowSum = tensor::ExtractOp::create(b, loc, rowSums, row);
          out = arith::AddIOp::create(
              b, loc, out,
              arith::MulIOp::create(b, loc, shift, splat(b, rowSum)));
        }
        if (Value d = rowZeroPoint(b, row))
          out = arith::SubIOp::create(
              b, loc, out, arith::MulIOp::create(b, loc, sums, splat(b, d)));
        block = vector::TransferWriteOp::create(
                    b, loc, out, block, ValueRange{row, index(b, j * kLanes)},
                    ArrayRef<bool>{true})
                    .getResult();
      }
    }
    return block;
  }


  /// rowsum(u)[m] = sum_k x[m, k] (+ 128 K for int8), once per call.
  Value buildRowSums(OpBuilder &b) const {
    auto type = RankedTensorType::get({q.m}, b.getI32Type());
    Value sums =
        tensor::EmptyOp::create(b, loc, type.getShape(), b.getI32Type());
    auto rows = scf::ForOp::create(
        b, loc, index(b, 0), index(b, q.m), index(b, 1), ValueRange{sums},
        [&](OpBuilder &rb, Location, Value m, ValueRange iter) {
          Value start = i32(rb, q.xSigned ? int32_t(128 * q.k) : 0);
          auto ks = scf::ForOp::create(
              rb, loc, index(rb, 0), index(rb, q.k), index(rb, 1),
              ValueRange{start},
              [&](OpBuilder &kb, Location, Value k, ValueRange sum) {
                Value byte =
                    tensor::ExtractOp::create(kb, loc, x, ValueRange{m, k});
                Value wide =
                    q.xSigned
                        ? arith::ExtSIOp::create(kb, loc, kb.getI32Type(), byte)
                              .getResult()
                        : arith::ExtUIOp::create(kb, loc, kb.getI32Type(), byte)
                              .getResult();
                scf::YieldOp::create(
                    kb, loc,
                    arith::AddIOp::create(kb, loc, sum[0], wide).getResult());
              });
          scf::YieldOp::create(
              rb, loc,
              tensor::InsertOp::create(rb, loc, ks.getResult(0), iter[0], m)
                  .getResult());
        });
    return rows.getResult(0);
  }
};

LogicalResult convert(RewriterBase &rewriter, const IntegerMatmul &q,
                      DotProduct dot, int64_t rows, int64_t vectors,
                      bool parallel) {
  // No wider panel than the columns need.
  vectors = std::min(vectors, (q.n + kLanes - 1) / kLanes);
  std::optional<PackedWeights> packed = packWeights(q, vectors);
  if (!packed)
    return failure();
  MatmulOp op = q.op;
  rewriter.setInsertionPoint(op);
  // Packed constants keep the weight's location: kiln-outline-weights
  // names the artifact's weights after it.
  Location weightLoc = op.getRhs().getLoc(), loc = op.getLoc();
  int64_t width = kLanes * vectors;
  int64_t panels = (q.n + width - 1) / width;
  int64_t groups = (q.k + kGroup - 1) / kGroup;
  Type i8 = rewriter.getI8Type(), i32 = rewriter.getI32Type();
  KernelBuilder kernel{q, dot, vectors, {}, {}, {}, {}, {}, loc};
  kernel.packed = arith::ConstantOp::create(
      rewriter, weightLoc,
      cast<TypedAttr>(makeConstantAttr(
          RankedTensorType::get({panels, groups, vectors * kVectorBytes}, i8),
          std::move(packed->bytes), "vnni_panels")));
  kernel.columnSums =
      makeConstant(rewriter, weightLoc, {panels * width}, i32,
                   asBytes(packed->columnSums), "vnni_column_sums");
  kernel.x =
      reshapeTensor(rewriter, loc, q.x, RankedTensorType::get({q.m, q.k}, i8));
  if (packed->anyOffset) {
    kernel.offsets =
        makeConstant(rewriter, weightLoc, {panels * width}, i32,
                     asBytes(packed->offsets), "vnni_column_offsets");
    kernel.rowSums = kernel.buildRowSums(rewriter);
  }
  bool threads = parallel && q.m * q.n * q.k >= kMinParallelMacs;
  Value y = buildPanelLoop(
      rewriter, kernel.loc,
      RankedTensorType::get({q.m, kernel.panels() * kernel.width()},
                            rewriter.getI32Type()),
      kernel.width(), rows, threads,
      [&](OpBuilder &b, Value p, Value m0, int64_t n, Value block) {
        return kernel.rowBlock(b, p, m0, n, block);
      });
  if (panels * width != q.n)
    y = tensor::ExtractSliceOp::create(
        rewriter, loc, RankedTensorType::get({q.m, q.n}, i32), y,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(0),
                               rewriter.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(q.m),
                               rewriter.getIndexAttr(q.n)},
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(1),
                               rewriter.getIndexAttr(1)});
  return finishKernelRewrite(rewriter, op, y, {op.getRhs()});
}

struct ConvertIntegerMatmulsToVectorKernelsPass
    : kiln::impl::ConvertIntegerMatmulsToVectorKernelsBase<
          ConvertIntegerMatmulsToVectorKernelsPass> {
  using Base::Base;

  /// The kernel the options choose: its dot product and the fewest rows a
  /// matmul needs to use it.
  struct KernelChoice {
    DotProduct dot;
    int64_t minRows = 1;
  };

  /// The kernel the options choose; std::nullopt for dot-product=none,
  /// failure (reported) for a block size below 1 or another dot product.
  FailureOr<std::optional<KernelChoice>> chooseKernel() {
    if (failed(checkBlockSizes(getOperation(), "rows and vectors",
                               {rows, vectors})))
      return failure();
    if (dotProduct == "none")
      return std::optional<KernelChoice>();
    if (dotProduct == "vnni")
      return std::optional(KernelChoice{DotProduct::Vnni});
    if (dotProduct == "generic")
      return std::optional(KernelChoice{DotProduct::Generic});
    if (dotProduct == "target") {
      if (targetCpuHas(getOperation(), "avx512vnni"))
        return std::optional(KernelChoice{DotProduct::Vnni});
      // The generic kernel pays for its byte shuffles and 32-bit
      // multiplies; on fewer rows than a block the reference loop, which
      // LLVM vectorizes over N, is faster (4096x4096 on one row, AVX2:
      // 1.3 against 0.8 ms; on 16 rows 18 against 42 ms).
      return std::optional(KernelChoice{DotProduct::Generic, rows});
    }
    getOperation().emitError()
        << "dot-product must be target, vnni, generic or none, not '"
        << dotProduct << "'";
    return failure();
  }

  void runOnOperation() override {
    FailureOr<std::optional<KernelChoice>> choice = chooseKernel();
    if (failed(choice))
      return signalPassFailure();
    if (!*choice)
      return;
    auto [dot, minRows] = **choice;
    std::vector<IntegerMatmul> work =
        collectMatches<MatmulOp>(getOperation(), matchIntegerMatmul);
    IRRewriter rewriter(&getContext());
    bool anyConverted = false;
    for (const IntegerMatmul &q : work)
      if (q.m >= minRows)
        anyConverted |=
            succeeded(convert(rewriter, q, dot, rows, vectors, parallel));
    if (anyConverted && dot == DotProduct::Vnni)
      declareVpdpbusd(getOperation());
  }
};

} // namespace
