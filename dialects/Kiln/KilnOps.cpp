//===- KilnOps.cpp - Verifiers of the Kiln dialect's ops ------------------===//
//
// Every message names the rule that broke and the values involved, so that
// an importer bug or a hand-written test reads as a sentence.
//
//===----------------------------------------------------------------------===//

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnShapes.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"

#include <limits>

using namespace mlir;
using namespace kiln;

std::string kiln::shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, ",");
  os << "]";
  return s;
}

LogicalResult kiln::verifyDims(Operation *op, StringRef what, ShapedType type,
                               ArrayRef<StringRef> dims) {
  if (type.getRank() == (int64_t)dims.size())
    return success();
  return op->emitOpError() << what << " must be ["
                           << llvm::join(dims, ", ") << "]";
}

FailureOr<SmallVector<int64_t>>
kiln::broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  SmallVector<int64_t> result(rank, 1);
  for (ArrayRef<int64_t> s : shapes) {
    size_t offset = rank - s.size();
    for (auto [i, dim] : llvm::enumerate(s)) {
      int64_t &out = result[offset + i];
      if (dim == out || dim == 1)
        continue;
      if (out != 1)
        return failure();
      out = dim;
    }
  }
  return result;
}

LogicalResult kiln::detail::verifyNumpyBroadcast(Operation *op) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Type t : op->getOperandTypes())
    shapes.push_back(cast<RankedTensorType>(t).getShape());
  FailureOr<SmallVector<int64_t>> expected = broadcastShapes(shapes);
  if (failed(expected)) {
    std::string all;
    for (ArrayRef<int64_t> s : shapes)
      all += (all.empty() ? "" : " and ") + shapeString(s);
    return op->emitOpError("operand shapes ") << all
           << " do not broadcast: a dimension differs and neither is 1";
  }
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  if (resultType.getShape() != ArrayRef<int64_t>(*expected))
    return op->emitOpError("result shape ")
           << shapeString(resultType.getShape())
           << " is not the broadcast of the operand shapes, "
           << shapeString(*expected);
  return success();
}

/// Checks that `result`, a result type of `op`, has the shape `expected`.
static LogicalResult verifyResultShape(Operation *op, ShapedType result,
                                       ArrayRef<int64_t> expected) {
  if (result.getShape() == expected)
    return success();
  return op->emitOpError("result shape ")
         << shapeString(result.getShape()) << " should be "
         << shapeString(expected);
}

/// Checks that `axis` names a dimension of a rank-`rank` tensor, allowing
/// negative values that count from the back when `allowNegative`.
static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank,
                                bool allowNegative) {
  int64_t lo = allowNegative ? -rank : 0;
  if (axis < lo || axis >= rank)
    return op->emitOpError("axis ")
           << axis << " is out of range for rank " << rank << " (expected "
           << lo << " <= axis < " << rank << ")";
  return success();
}

LogicalResult SelectOp::verify() {
  Type elt = getResult().getType().getElementType();
  if (getTrueValue().getType().getElementType() != elt ||
      getFalseValue().getType().getElementType() != elt)
    return emitOpError("true and false values must have the result's element "
                       "type ")
           << elt;
  return success();
}

LogicalResult MatmulOp::verify() {
  ArrayRef<int64_t> lhs = getLhs().getType().getShape();
  ArrayRef<int64_t> rhs = getRhs().getType().getShape();
  if (lhs.size() < 2 || rhs.size() < 2)
    return emitOpError("operands must have rank 2 or more, got ")
           << lhs.size() << " and " << rhs.size();
  int64_t m = lhs[lhs.size() - 2], k = lhs.back();
  int64_t k2 = rhs[rhs.size() - 2], n = rhs.back();
  if (k != k2)
    return emitOpError("contraction sizes differ: lhs has ")
           << k << " columns but rhs has " << k2 << " rows";
  FailureOr<SmallVector<int64_t>> batch =
      broadcastShapes({lhs.drop_back(2), rhs.drop_back(2)});
  if (failed(batch))
    return emitOpError("batch dimensions ")
           << shapeString(lhs.drop_back(2)) << " and "
           << shapeString(rhs.drop_back(2)) << " do not broadcast";
  SmallVector<int64_t> expected = *batch;
  expected.append({m, n});
  return verifyResultShape(*this, getType(), expected);
}

LogicalResult LinearOp::verify() {
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> w = getWeight().getType().getShape();
  if (in.empty())
    return emitOpError("input must have rank 1 or more");
  if (w.size() != 2)
    return emitOpError("weight must be [N, K], got rank ") << w.size();
  if (w[1] != in.back())
    return emitOpError("weight is [")
           << w[0] << ", " << w[1] << "] but the input's last dimension is "
           << in.back();
  if (getBias()) {
    ArrayRef<int64_t> b = getBias().getType().getShape();
    if (b.size() != 1 || b[0] != w[0])
      return emitOpError("bias must be [") << w[0] << "], got "
                                           << shapeString(b);
  }
  SmallVector<int64_t> expected(in.drop_back());
  expected.push_back(w[0]);
  if (failed(verifyResultShape(*this, getType(), expected)))
    return failure();
  Type elt = getType().getElementType();
  if (getInput().getType().getElementType() != elt ||
      getWeight().getType().getElementType() != elt ||
      (getBias() && getBias().getType().getElementType() != elt))
    return emitOpError("input, weight, bias and result must share one "
                       "element type");
  return success();
}

template <typename OpTy>
static LogicalResult verifySoftmaxLike(OpTy op) {
  return verifyAxis(op, op.getAxis(), op.getType().getRank(),
                    /*allowNegative=*/true);
}
LogicalResult SoftmaxOp::verify() { return verifySoftmaxLike(*this); }
LogicalResult LogSoftmaxOp::verify() { return verifySoftmaxLike(*this); }

LogicalResult LayerNormOp::verify() {
  int64_t rank = getType().getRank();
  if (failed(verifyAxis(*this, getAxis(), rank, /*allowNegative=*/true)))
    return failure();
  if (getInput().getType() != getType())
    return emitOpError("result type must equal the input type");
  ArrayRef<int64_t> normalized =
      getType().getShape().drop_front(getNormalizedAxis());
  auto checkParam = [&](Value v, StringRef what) -> LogicalResult {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getElementType() != getType().getElementType())
      return emitOpError() << what << " must have the input's element type";
    FailureOr<SmallVector<int64_t>> b =
        broadcastShapes({t.getShape(), normalized});
    if (failed(b) || ArrayRef<int64_t>(*b) != normalized)
      return emitOpError() << what << " shape " << shapeString(t.getShape())
                           << " does not broadcast to the normalized "
                              "dimensions "
                           << shapeString(normalized);
    return success();
  };
  if (failed(checkParam(getScale(), "scale")))
    return failure();
  if (getBias() && failed(checkParam(getBias(), "bias")))
    return failure();
  if (getEpsilon().convertToDouble() < 0)
    return emitOpError("epsilon must not be negative");
  return success();
}

/// Shared by every reduction: axes sorted, unique, in range, and the result
/// shape follows from them and `keepdims`.
static LogicalResult verifyReduction(Operation *op, RankedTensorType input,
                                     RankedTensorType result,
                                     ArrayRef<int64_t> axes, bool keepdims) {
  int64_t rank = input.getRank();
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (axis < 0 || axis >= rank)
      return op->emitOpError("axis ")
             << axis << " is out of range for rank " << rank;
    if (i > 0 && axes[i - 1] >= axis)
      return op->emitOpError("axes must be strictly increasing");
  }
  SmallVector<int64_t> expected;
  for (int64_t d = 0; d < rank; ++d) {
    if (!llvm::is_contained(axes, d))
      expected.push_back(input.getDimSize(d));
    else if (keepdims)
      expected.push_back(1);
  }
  return verifyResultShape(op, result, expected);
}

#define KILN_REDUCE_VERIFIER(OP)                                               \
  LogicalResult OP::verify() {                                                 \
    return verifyReduction(*this, getInput().getType(), getType(), getAxes(),  \
                           getKeepdims());                                     \
  }
KILN_REDUCE_VERIFIER(ReduceSumOp)
KILN_REDUCE_VERIFIER(ReduceMeanOp)
KILN_REDUCE_VERIFIER(ReduceMaxOp)
KILN_REDUCE_VERIFIER(ReduceMinOp)
KILN_REDUCE_VERIFIER(ReduceProdOp)
#undef KILN_REDUCE_VERIFIER

template <typename OpTy> static LogicalResult verifyArgReduce(OpTy op) {
  auto input = op.getInput().getType();
  if (failed(verifyAxis(op, op.getAxis(), input.getRank(),
                        /*allowNegative=*/false)))
    return failure();
  int64_t axis = op.getAxis();
  return verifyReduction(op, input, op.getType().clone(input.getElementType()),
                         {axis}, op.getKeepdims());
}
LogicalResult ArgMaxOp::verify() { return verifyArgReduce(*this); }
LogicalResult ArgMinOp::verify() { return verifyArgReduce(*this); }

LogicalResult CumSumOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank(),
                    /*allowNegative=*/false);
}
LogicalResult CumProdOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank(),
                    /*allowNegative=*/false);
}

LogicalResult TransposeOp::verify() {
  ArrayRef<int64_t> perm = getPermutation();
  ArrayRef<int64_t> in = getInput().getType().getShape();
  if (perm.size() != in.size())
    return emitOpError("permutation has ")
           << perm.size() << " entries but the input has rank " << in.size();
  llvm::SmallSet<int64_t, 8> seen;
  SmallVector<int64_t> expected;
  for (int64_t p : perm) {
    if (p < 0 || p >= (int64_t)in.size() || !seen.insert(p).second)
      return emitOpError("permutation ")
             << shapeString(perm) << " is not a permutation of 0.."
             << (int64_t)in.size() - 1;
    expected.push_back(in[p]);
  }
  return verifyResultShape(*this, getType(), expected);
}

LogicalResult ReshapeOp::verify() {
  if (getInput().getType().getNumElements() != getType().getNumElements())
    return emitOpError("input has ")
           << getInput().getType().getNumElements()
           << " elements but the result type holds "
           << getType().getNumElements();
  return success();
}

LogicalResult BroadcastOp::verify() {
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getType().getShape();
  FailureOr<SmallVector<int64_t>> b = broadcastShapes({in, out});
  if (failed(b) || ArrayRef<int64_t>(*b) != out)
    return emitOpError("input shape ")
           << shapeString(in) << " does not broadcast to " << shapeString(out);
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  int64_t rank = getType().getRank();
  if (failed(verifyAxis(*this, getAxis(), rank, /*allowNegative=*/false)))
    return failure();
  int64_t axis = getAxis();
  int64_t total = 0;
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != rank)
      return emitOpError("input #") << i << " has rank " << t.getRank()
                                    << ", expected " << rank;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t.getDimSize(d) != getType().getDimSize(d))
        return emitOpError("input #")
               << i << " has size " << t.getDimSize(d) << " in dimension "
               << d << ", expected " << getType().getDimSize(d);
    // A dynamic input makes the sum dynamic.
    if (ShapedType::isDynamic(total) || t.isDynamicDim(axis))
      total = ShapedType::kDynamic;
    else
      total += t.getDimSize(axis);
  }
  if (total != getType().getDimSize(axis)) {
    auto size = [](int64_t n) {
      return ShapedType::isDynamic(n) ? std::string("?") : std::to_string(n);
    };
    return emitOpError("inputs add up to ")
           << size(total) << " along axis " << axis << " but the result has "
           << size(getType().getDimSize(axis));
  }
  return success();
}

LogicalResult SliceOp::verify() {
  ArrayRef<int64_t> in = getInput().getType().getShape();
  ArrayRef<int64_t> out = getType().getShape();
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  if (out.size() != in.size() || starts.size() != in.size() ||
      steps.size() != in.size())
    return emitOpError("input rank, result rank, starts and steps must all "
                       "have the same length");
  for (size_t d = 0; d < in.size(); ++d) {
    // Without ends, a dynamic result size says nothing about how many
    // elements are taken, except along an axis the slice keeps whole.
    if (ShapedType::isDynamic(out[d])) {
      if (starts[d] != 0 || steps[d] != 1 || !ShapedType::isDynamic(in[d]))
        return emitOpError("result dimension ")
               << d
               << " is dynamic, which a slice allows only along a dynamic "
                  "input dimension it keeps whole (start 0, step 1); found "
                  "start "
               << starts[d] << ", step " << steps[d] << ", input size "
               << (ShapedType::isDynamic(in[d]) ? std::string("?")
                                                : std::to_string(in[d]));
      continue;
    }
    if (out[d] == 0)
      continue;
    if (steps[d] == 0)
      return emitOpError("step of dimension ") << d << " is zero";
    int64_t last = starts[d] + (out[d] - 1) * steps[d];
    // Reads past the end of a dynamic input dimension are its run-time
    // business; only the lower bound is known here.
    int64_t bound = ShapedType::isDynamic(in[d])
                        ? std::numeric_limits<int64_t>::max()
                        : in[d];
    if (starts[d] < 0 || starts[d] >= bound || last < 0 || last >= bound)
      return emitOpError("dimension ")
             << d << " reads indices " << starts[d] << " to " << last
             << " but the input has size " << in[d];
  }
  return success();
}

LogicalResult GatherOp::verify() {
  ArrayRef<int64_t> data = getData().getType().getShape();
  ArrayRef<int64_t> idx = getIndices().getType().getShape();
  if (failed(verifyAxis(*this, getAxis(), data.size(),
                        /*allowNegative=*/false)))
    return failure();
  int64_t axis = getAxis();
  SmallVector<int64_t> expected(data.take_front(axis));
  expected.append(idx.begin(), idx.end());
  expected.append(data.begin() + axis + 1, data.end());
  if (failed(verifyResultShape(*this, getType(), expected)))
    return failure();
  if (getType().getElementType() != getData().getType().getElementType())
    return emitOpError("result must have the data's element type");
  return success();
}

LogicalResult TriluOp::verify() {
  if (getType().getRank() < 2)
    return emitOpError("input must have rank 2 or more, got ")
           << getType().getRank();
  return success();
}

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnOps.cpp.inc"
