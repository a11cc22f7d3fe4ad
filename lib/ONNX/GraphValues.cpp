//===- GraphValues.cpp - Sequence and optional graph inputs, outputs ------===//

#include "GraphValues.h"

#include "NodeContext.h"

#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

std::string kiln::onnx_import::valueTypeText(const onnx::TypeProto &type) {
  if (type.has_tensor_type())
    return "tensor<" + onnxTypeName(type.tensor_type().elem_type()) + ">";
  if (type.has_sequence_type())
    return "sequence<" + valueTypeText(type.sequence_type().elem_type()) + ">";
  if (type.has_optional_type())
    return "optional<" + valueTypeText(type.optional_type().elem_type()) + ">";
  if (type.has_map_type())
    return "map";
  return "unknown";
}

std::string kiln::onnx_import::sequenceElementName(StringRef name, size_t i) {
  return (name + "[" + Twine(i) + "]").str();
}

/// "int64[batch,seq]": a graph input's type as the model declares it.
static std::string declaredType(const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type())
    return valueTypeText(info.type());
  const onnx::TypeProto::Tensor &tensor = info.type().tensor_type();
  std::string text = onnxTypeName(tensor.elem_type());
  if (!tensor.has_shape())
    return text + "[unknown shape]";
  text += "[";
  for (auto [i, d] : llvm::enumerate(tensor.shape().dim())) {
    text += i ? "," : "";
    text += d.has_dim_value()   ? std::to_string(d.dim_value())
            : d.has_dim_param() ? d.dim_param()
                                : "?";
  }
  return text + "]";
}

void kiln::onnx_import::summarize(const onnx::ModelProto &model,
                                  OnnxModelSummary &out) {
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    out.opsets[o.domain() == "ai.onnx" ? "" : o.domain()] = o.version();
  const onnx::GraphProto &graph = model.graph();
  out.nodes = graph.node_size();
  for (const onnx::NodeProto &node : graph.node()) {
    bool standard = node.domain().empty() || node.domain() == "ai.onnx";
    ++out.nodesPerOp[standard ? node.op_type()
                              : node.domain() + "." + node.op_type()];
  }
  llvm::StringSet<> initializers;
  for (const onnx::TensorProto &t : graph.initializer())
    initializers.insert(t.name());
  for (const onnx::ValueInfoProto &in : graph.input())
    if (!initializers.contains(in.name()))
      out.inputs.emplace_back(in.name(), declaredType(in));
}

int kiln::onnx_import::elementOnnxType(const onnx::TypeProto &type) {
  if (type.has_tensor_type())
    return type.tensor_type().elem_type();
  if (type.has_sequence_type())
    return elementOnnxType(type.sequence_type().elem_type());
  if (type.has_optional_type())
    return elementOnnxType(type.optional_type().elem_type());
  return 0;
}

/// The tensor type of the elements of `type` when it is a sequence of
/// tensors, an optional tensor or an optional sequence of tensors; null
/// otherwise. `sequence` says whether it holds a sequence.
static const onnx::TypeProto *elementTensorType(const onnx::TypeProto &type,
                                                bool &sequence) {
  const onnx::TypeProto *inner = &type;
  if (inner->has_optional_type())
    inner = &inner->optional_type().elem_type();
  sequence = inner->has_sequence_type();
  if (sequence)
    inner = &inner->sequence_type().elem_type();
  return inner->has_tensor_type() ? inner : nullptr;
}

std::string kiln::onnx_import::expandGraphInput(
    const onnx::ValueInfoProto &in, const OnnxImportOptions &options,
    std::deque<onnx::ValueInfoProto> &elements, GraphValueGroup &group) {
  const std::string &name = in.name();
  group.name = name;
  group.type = valueTypeText(in.type());
  const onnx::TypeProto *element = elementTensorType(in.type(), group.sequence);
  if (!element)
    return "unsupported: graph input '" + name + "' is a " + group.type +
           " (Kiln passes tensors, sequences of tensors and optional "
           "tensors or sequences)";
  if (options.absentInputs.contains(name)) {
    group.present = false;
    return "";
  }
  size_t count = 1;
  if (group.sequence) {
    auto it = options.sequenceInputs.find(name);
    if (it == options.sequenceInputs.end())
      return "unsupported: graph input '" + name + "' is a " + group.type +
             ", whose length Kiln needs at compile time: give it with "
             "--sequence-input " +
             name + "=N" +
             (in.type().has_optional_type()
                  ? " (or --absent-input " + name + " for an empty optional)"
                  : "");
    count = it->second;
  }
  for (size_t i = 0; i < count; ++i) {
    onnx::ValueInfoProto &tensor = elements.emplace_back();
    tensor.set_name(group.sequence ? sequenceElementName(name, i) : name);
    *tensor.mutable_type() = *element;
    // Elements may differ in shape: each unknown dim is its own symbol,
    // NAME[i]_dimJ (a dim_param would make all elements share it).
    if (group.sequence && tensor.type().tensor_type().has_shape())
      for (onnx::TensorShapeProto::Dimension &d : *tensor.mutable_type()
                                                       ->mutable_tensor_type()
                                                       ->mutable_shape()
                                                       ->mutable_dim())
        if (!d.has_dim_value())
          d.clear_dim_param();
    group.tensors.push_back(tensor.name());
  }
  return "";
}

std::string
kiln::onnx_import::checkValueFlags(const onnx::GraphProto &graph,
                                   const OnnxImportOptions &options) {
  auto find = [&](StringRef name) -> const onnx::ValueInfoProto * {
    for (const onnx::ValueInfoProto &in : graph.input())
      if (in.name() == name)
        return &in;
    return nullptr;
  };
  for (const auto &entry : options.sequenceInputs) {
    const onnx::ValueInfoProto *in = find(entry.first());
    bool sequence = false;
    if (!in || !elementTensorType(in->type(), sequence) || !sequence)
      return "--sequence-input names '" + entry.first().str() +
             "', which is not a graph input of a sequence type";
    if (options.absentInputs.contains(entry.first()))
      return "--sequence-input and --absent-input both name '" +
             entry.first().str() + "'";
  }
  for (const auto &entry : options.absentInputs) {
    const onnx::ValueInfoProto *in = find(entry.first());
    if (!in || !in->type().has_optional_type())
      return "--absent-input names '" + entry.first().str() +
             "', which is not an optional graph input";
  }
  return "";
}

void kiln::onnx_import::recordGraphValues(func::FuncOp func,
                                          ArrayRef<GraphValueGroup> groups) {
  if (groups.empty())
    return;
  Builder b(func.getContext());
  SmallVector<Attribute> records;
  for (const GraphValueGroup &g : groups) {
    SmallVector<StringRef> tensors(g.tensors.begin(), g.tensors.end());
    records.push_back(b.getDictionaryAttr({
        b.getNamedAttr("name", b.getStringAttr(g.name)),
        b.getNamedAttr("output", b.getBoolAttr(g.output)),
        b.getNamedAttr("type", b.getStringAttr(g.type)),
        b.getNamedAttr("present", b.getBoolAttr(g.present)),
        b.getNamedAttr("sequence", b.getBoolAttr(g.sequence)),
        b.getNamedAttr("tensors", b.getStrArrayAttr(tensors)),
    }));
  }
  func->setAttr("kiln.values", b.getArrayAttr(records));
}

bool kiln::onnx_import::fitsInAddressSpace(ArrayRef<int64_t> shape, Type elt) {
  uint64_t bytes = std::max<uint64_t>(1, (elt.getIntOrFloatBitWidth() + 7) / 8);
  if (llvm::is_contained(shape, 0))
    return true;
  for (int64_t d : shape) {
    if (ShapedType::isDynamic(d))
      continue;
    if (bytes > (uint64_t(1) << 63) / uint64_t(d))
      return false;
    bytes *= uint64_t(d);
  }
  return true;
}

bool kiln::onnx_import::isStringTensor(const onnx::TypeProto &type) {
  return type.has_tensor_type() &&
         type.tensor_type().elem_type() == onnx::TensorProto::STRING;
}

std::string
kiln::onnx_import::stringInputError(const onnx::NodeProto &node,
                                    const llvm::StringSet<> &stringValues) {
  for (const std::string &in : node.input())
    if (stringValues.contains(in))
      return "unsupported: " + node.op_type() + " on string tensors (input '" +
             in + "' is a string tensor; Kiln has no string type)";
  return "";
}
