//===- NodeContext.cpp - What an ONNX node handler sees -------------------===//

#include "NodeContext.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

Value NodeContext::input(size_t i) const {
  if (i >= (size_t)node.input_size() || node.input(i).empty())
    return nullptr;
  return values.lookup(node.input(i));
}

RankedTensorType NodeContext::inputType(size_t i) const {
  Value v = input(i);
  return v ? typeOf(v) : nullptr;
}

bool NodeContext::hasOutput(size_t i) const {
  return i < (size_t)node.output_size() && !node.output(i).empty();
}

void NodeContext::setOutput(size_t i, Value v) {
  if (hasOutput(i))
    values[node.output(i)] = v;
}

const SmallVector<Value> *NodeContext::sequenceInput(size_t i) const {
  if (!sequences || i >= (size_t)node.input_size() || node.input(i).empty())
    return nullptr;
  auto it = sequences->find(node.input(i));
  return it == sequences->end() ? nullptr : &it->second;
}

void NodeContext::setSequenceOutput(size_t i, ArrayRef<Value> elements) {
  if (sequences && hasOutput(i))
    (*sequences)[node.output(i)] = SmallVector<Value>(elements);
}

int NodeContext::onnxTypeOf(size_t i) const {
  if (i >= (size_t)node.input_size())
    return 0;
  return onnxTypes.lookup(node.input(i));
}

void NodeContext::setOutputOnnxType(size_t i, int type) {
  if (hasOutput(i))
    onnxTypes[node.output(i)] = type;
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const onnx::AttributeProto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::getInt(StringRef name, int64_t fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->i() : fallback;
}

float NodeContext::getFloat(StringRef name, float fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->f() : fallback;
}

std::string NodeContext::getString(StringRef name, StringRef fallback) const {
  const onnx::AttributeProto *a = attr(name);
  return a ? a->s() : fallback.str();
}

std::optional<SmallVector<int64_t>> NodeContext::getInts(StringRef name) const {
  const onnx::AttributeProto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<DenseElementsAttr> NodeContext::constantInput(size_t i,
                                                        StringRef what) {
  Value v = input(i);
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr))) {
    (void)error(Twine(what) + " (input " + Twine(i) +
                ") must be a constant: Kiln needs this value at compile "
                "time");
    return failure();
  }
  return attr;
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(size_t i,
                                                          StringRef what) {
  FailureOr<DenseElementsAttr> attr = constantInput(i, what);
  if (failed(attr))
    return failure();
  if (!isa<IntegerType>(attr->getElementType())) {
    (void)error(Twine(what) + " must hold integers");
    return failure();
  }
  SmallVector<int64_t> result;
  for (APInt v : attr->getValues<APInt>())
    result.push_back(v.getSExtValue());
  return result;
}

FailureOr<int64_t> NodeContext::constantInt(size_t i, StringRef what) {
  FailureOr<SmallVector<int64_t>> ints = constantInts(i, what);
  if (failed(ints))
    return failure();
  if (ints->size() != 1)
    return error(Twine(what) + " must hold one value");
  return ints->front();
}

FailureOr<int64_t> NodeContext::constantInt(size_t i, StringRef what,
                                            int64_t absent) {
  return input(i) ? constantInt(i, what) : FailureOr<int64_t>(absent);
}

LogicalResult NodeContext::error(const Twine &message) const {
  return emitError(loc) << "node '" << name << "' (" << node.op_type()
                        << "): " << message.str();
}

LogicalResult NodeContext::unsupported(StringRef attrName, const Twine &value,
                                       const Twine &supported) const {
  std::string instead = supported.str();
  return error("attribute " + attrName + " = " + value +
               " is not supported by Kiln" +
               (instead.empty() ? "" : " (supported: " + instead + ")"));
}

Value NodeContext::constant(DenseElementsAttr value) {
  return arith::ConstantOp::create(b, loc, value.getType(), value);
}

Value NodeContext::scalar(Type elementType, double value) {
  return constant(scalarConstantAttr(elementType, value));
}

Value NodeContext::cast(Value v, Type elementType) {
  RankedTensorType t = typeOf(v);
  if (t.getElementType() == elementType)
    return v;
  return b.createOrFold<CastOp>(loc, t.clone(elementType), v);
}

Value NodeContext::reshape(Value v, ArrayRef<int64_t> shape) {
  RankedTensorType t = typeOf(v);
  if (t.getShape() == shape)
    return v;
  return b.createOrFold<ReshapeOp>(loc, t.clone(shape), v);
}

Value NodeContext::splitHeads(Value x, int64_t heads) {
  RankedTensorType t = typeOf(x);
  int64_t b = t.getDimSize(0), s = t.getDimSize(1), hd = t.getDimSize(2);
  return transpose(reshape(x, {b, s, heads, hd / heads}), {0, 2, 1, 3});
}

LogicalResult NodeContext::headCounts(StringRef qName, StringRef kvName,
                                      int64_t &qHeads, int64_t &kvHeads) {
  qHeads = getInt(qName, 0);
  kvHeads = getInt(kvName, 0);
  if (qHeads <= 0 || kvHeads <= 0)
    return error("needs positive " + qName + " and " + kvName + " attributes");
  if (qHeads % kvHeads)
    return error(qName + " (" + Twine(qHeads) + ") must be a multiple of " +
                 kvName + " (" + Twine(kvHeads) + ")");
  return success();
}

Value NodeContext::i64Constant(ArrayRef<int64_t> values,
                               ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  return constant(DenseElementsAttr::get(type, values));
}

Value NodeContext::transpose(Value v, ArrayRef<int64_t> perm) {
  RankedTensorType t = typeOf(v);
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(t.getDimSize(p));
  return TransposeOp::create(b, loc, t.clone(shape), v,
                             b.getDenseI64ArrayAttr(perm));
}

Value NodeContext::compare(CompareDirection dir, Value lhs, Value rhs) {
  RankedTensorType type =
      broadcastType(lhs, rhs, typeOf(lhs).clone(b.getI1Type()));
  if (!type)
    return nullptr;
  return b.createOrFold<CompareOp>(loc, type, dir, lhs, rhs);
}

RankedTensorType NodeContext::broadcastType(Value lhs, Value rhs,
                                            RankedTensorType like) {
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes({typeOf(lhs).getShape(), typeOf(rhs).getShape()});
  if (failed(shape)) {
    std::string a, c;
    llvm::raw_string_ostream as(a), cs(c);
    as << typeOf(lhs);
    cs << typeOf(rhs);
    (void)error("operands of types " + a + " and " + c + " do not broadcast");
    return nullptr;
  }
  return RankedTensorType::get(*shape, like.getElementType());
}

FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank,
                                              StringRef what) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    (void)error(Twine(what) + " " + Twine(axis) + " is out of range for rank " +
                Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}
