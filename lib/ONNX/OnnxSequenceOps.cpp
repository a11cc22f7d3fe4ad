//===- OnnxSequenceOps.cpp - Sequences as lists of tensors ----------------===//
//
// Kiln has no sequence type and its runtime passes only tensors, so an ONNX
// sequence that stays inside the graph is imported as the list of its
// tensors, which the importer knows at compile time
// (NodeContext::sequences): SequenceConstruct makes a list, SequenceAt
// picks one, SequenceInsert and SequenceErase edit the list,
// SequenceLength is a constant, SplitToSequence slices a tensor,
// ConcatFromSequence joins the list, and SequenceMap imports its body once
// per element. A position must therefore be a compile-time constant. A
// sequence-typed graph input or output is an "unsupported" error of the
// importer (OnnxImporter.cpp).
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// Input `i` as a sequence; failure after an error when it is not one.
FailureOr<SmallVector<Value>> sequenceAt(NodeContext &nc, size_t i) {
  if (const SmallVector<Value> *elements = nc.sequenceInput(i))
    return *elements;
  return nc.error("input " + Twine(i) +
                  " is not a sequence that the graph computes (a "
                  "sequence-typed graph input is not supported)");
}

/// The constant position input `i` of a sequence of `length` tensors, made
/// non-negative; `absent` when there is no input `i`. `end` allows
/// `length` itself (SequenceInsert's position). Failure after an error
/// (an empty sequence has no position to read).
FailureOr<int64_t> positionAt(NodeContext &nc, size_t i, int64_t length,
                              int64_t absent, bool end) {
  FailureOr<int64_t> position = nc.constantInt(
      i, "the position (a sequence's length is known only at compile time)",
      absent);
  if (failed(position))
    return failure();
  int64_t p = *position < 0 ? *position + length : *position;
  if (p < 0 || p > length || (p == length && !end))
    return nc.error("position " + Twine(*position) +
                    " is out of range for a sequence of " + Twine(length) +
                    " tensors");
  return p;
}

/// Input 0 as a sequence and the position input `i` into it: where a
/// tensor is inserted (up to the end, the end without a position) or the
/// tensor read or erased (the last without a position). Failure after an
/// error.
FailureOr<std::pair<SmallVector<Value>, int64_t>>
sequenceAndPosition(NodeContext &nc, size_t i, bool insert) {
  FailureOr<SmallVector<Value>> seq = sequenceAt(nc, 0);
  if (failed(seq))
    return failure();
  int64_t length = seq->size();
  FailureOr<int64_t> p =
      positionAt(nc, i, length, insert ? length : -1, insert);
  if (failed(p))
    return failure();
  return std::make_pair(std::move(*seq), *p);
}

/// SequenceConstruct (opsets 11 to 25): the inputs, in order.
LogicalResult sequenceConstructOp(NodeContext &nc) {
  SmallVector<Value> elements;
  for (size_t i = 0; i < nc.numInputs(); ++i) {
    if (!nc.input(i))
      return nc.error("input " + Twine(i) + " is not a tensor");
    elements.push_back(nc.input(i));
  }
  nc.setSequenceOutput(0, elements);
  return success();
}

/// SequenceEmpty (opsets 11 to 25): no tensors.
LogicalResult sequenceEmptyOp(NodeContext &nc) {
  nc.setSequenceOutput(0, {});
  return success();
}

/// SequenceAt (opsets 11 to 25): the tensor at a constant position.
LogicalResult sequenceAtOp(NodeContext &nc) {
  auto seq = sequenceAndPosition(nc, 1, /*insert=*/false);
  if (failed(seq))
    return failure();
  nc.setOutput(0, seq->first[seq->second]);
  return success();
}

/// SequenceInsert (opsets 11 to 25): the tensor inserted at the position,
/// at the end without one.
LogicalResult sequenceInsertOp(NodeContext &nc) {
  if (!nc.input(1))
    return nc.error("expects a tensor to insert (input 1)");
  auto seq = sequenceAndPosition(nc, 2, /*insert=*/true);
  if (failed(seq))
    return failure();
  seq->first.insert(seq->first.begin() + seq->second, nc.input(1));
  nc.setSequenceOutput(0, seq->first);
  return success();
}

/// SequenceErase (opsets 11 to 25): the sequence without the tensor at
/// the position, the last one without a position.
LogicalResult sequenceEraseOp(NodeContext &nc) {
  auto seq = sequenceAndPosition(nc, 1, /*insert=*/false);
  if (failed(seq))
    return failure();
  seq->first.erase(seq->first.begin() + seq->second);
  nc.setSequenceOutput(0, seq->first);
  return success();
}

/// SequenceLength (opsets 11 to 25): an int64 scalar constant.
LogicalResult sequenceLengthOp(NodeContext &nc) {
  FailureOr<SmallVector<Value>> seq = sequenceAt(nc, 0);
  if (failed(seq))
    return failure();
  nc.setOutput(0, nc.i64Constant({(int64_t)seq->size()}, {}));
  nc.setOutputOnnxType(0, onnx::TensorProto::INT64);
  return success();
}

/// The sizes SplitToSequence cuts an axis of `size` into: `split` (a
/// scalar chunk size, the last chunk smaller, or one size per piece), or
/// ones without it.
FailureOr<SmallVector<int64_t>> splitSizes(NodeContext &nc, int64_t size) {
  if (!nc.input(1))
    return SmallVector<int64_t>(size, 1);
  FailureOr<SmallVector<int64_t>> split =
      nc.constantInts(1, "split (the number of pieces must be known at "
                         "compile time)");
  if (failed(split))
    return failure();
  if (nc.inputType(1).getRank() > 0) {
    int64_t sum = 0;
    for (int64_t s : *split)
      sum += s;
    if (sum != size)
      return nc.error("split sizes add up to " + Twine(sum) +
                      ", not the axis size " + Twine(size));
    return *split;
  }
  int64_t chunk = split->front();
  if (chunk < 1)
    return nc.error("split (" + Twine(chunk) + ") must be positive");
  SmallVector<int64_t> sizes(size / chunk, chunk);
  if (size % chunk)
    sizes.push_back(size % chunk);
  return sizes;
}

/// SplitToSequence (opsets 11 to 25): slices of input 0 along `axis`, of
/// the sizes of `split`; without `split`, slices of one that lose the axis
/// unless keepdims is 1.
LogicalResult splitToSequenceOp(NodeContext &nc) {
  if (!nc.input(0))
    return nc.error("expects an input");
  RankedTensorType type = nc.inputType(0);
  FailureOr<int64_t> axis =
      nc.normalizeAxis(nc.getInt("axis", 0), type.getRank(), "axis");
  if (failed(axis))
    return failure();
  int64_t size = type.getDimSize(*axis);
  if (ShapedType::isDynamic(size))
    return nc.error("unsupported: SplitToSequence along an axis whose size "
                    "only the run knows (the sequence's length must be "
                    "known at compile time)");
  FailureOr<SmallVector<int64_t>> sizes = splitSizes(nc, size);
  if (failed(sizes))
    return failure();
  bool squeeze = !nc.input(1) && nc.getInt("keepdims", 1) == 0;
  SmallVector<Value> pieces;
  int64_t start = 0;
  for (int64_t s : *sizes) {
    if (squeeze) {
      pieces.push_back(stepOf(nc, nc.input(0), *axis, start));
    } else {
      SmallVector<int64_t> shape(type.getShape()), starts(type.getRank(), 0),
          steps(type.getRank(), 1);
      shape[*axis] = s;
      starts[*axis] = start;
      pieces.push_back(nc.b.createOrFold<SliceOp>(
          nc.loc, type.clone(shape), nc.input(0),
          nc.b.getDenseI64ArrayAttr(starts), nc.b.getDenseI64ArrayAttr(steps)));
    }
    start += s;
  }
  nc.setSequenceOutput(0, pieces);
  return success();
}

/// ConcatFromSequence (opsets 11 to 25): the tensors joined along `axis`,
/// or stacked along a new one with new_axis 1.
LogicalResult concatFromSequenceOp(NodeContext &nc) {
  FailureOr<SmallVector<Value>> seq = sequenceAt(nc, 0);
  if (failed(seq))
    return failure();
  if (seq->empty())
    return nc.error("unsupported: ConcatFromSequence of an empty sequence "
                    "(its result has no shape)");
  bool newAxis = nc.getInt("new_axis", 0) != 0;
  RankedTensorType first = nc.typeOf(seq->front());
  FailureOr<int64_t> axis = nc.normalizeAxis(
      nc.getInt("axis", 0), first.getRank() + (newAxis ? 1 : 0), "axis");
  if (failed(axis))
    return failure();
  if (newAxis)
    return nc.setResult(stackSteps(nc, *seq, *axis));
  SmallVector<int64_t> shape(first.getShape());
  shape[*axis] = 0;
  for (Value v : *seq) {
    RankedTensorType type = nc.typeOf(v);
    if (type.getRank() != first.getRank() ||
        type.getElementType() != first.getElementType())
      return nc.error("the sequence's tensors differ in rank or element type");
    int64_t d = type.getDimSize(*axis);
    shape[*axis] =
        ShapedType::isDynamic(d) || ShapedType::isDynamic(shape[*axis])
            ? ShapedType::kDynamic
            : shape[*axis] + d;
  }
  if (seq->size() == 1)
    return nc.setResult(seq->front());
  return nc.setResult(ConcatOp::create(nc.b, nc.loc, first.clone(shape), *seq,
                                       nc.b.getI64IntegerAttr(*axis)));
}

/// SequenceMap (opsets 17 to 25): the body imported once per element of
/// input 0, on that element and, of each further input, the same element
/// of a sequence or the whole of a tensor; each body output collects one
/// sequence.
LogicalResult sequenceMapOp(NodeContext &nc) {
  const onnx::AttributeProto *body = nc.attr("body");
  if (!body || !body->has_g())
    return nc.error("expects a body graph");
  FailureOr<SmallVector<Value>> seq = sequenceAt(nc, 0);
  if (failed(seq))
    return failure();
  SmallVector<SmallVector<Value>> outputs(nc.numOutputs());
  for (size_t e = 0; e < seq->size(); ++e) {
    SmallVector<Value> inputs{(*seq)[e]};
    for (size_t i = 1; i < nc.numInputs(); ++i) {
      const SmallVector<Value> *other = nc.sequenceInput(i);
      if (other && other->size() != seq->size())
        return nc.error("input " + Twine(i) + " has " + Twine(other->size()) +
                        " tensors, input 0 " + Twine(seq->size()));
      if (!other && !nc.input(i))
        return nc.error("input " + Twine(i) + " is missing");
      inputs.push_back(other ? (*other)[e] : nc.input(i));
    }
    FailureOr<SmallVector<Value>> results =
        nc.importSubgraph(body->g(), inputs);
    if (failed(results))
      return failure();
    if (results->size() != outputs.size())
      return nc.error("the body has " + Twine(results->size()) +
                      " outputs, the node " + Twine(outputs.size()));
    for (auto [out, r] : llvm::zip(outputs, *results))
      out.push_back(r);
  }
  for (auto [i, out] : llvm::enumerate(outputs))
    nc.setSequenceOutput(i, out);
  return success();
}

} // namespace

void kiln::onnx_import::registerSequenceHandlers(HandlerTable &t) {
#define ONNX_SEQUENCE_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
