//===- OnnxImporter.cpp - ONNX models into the Kiln dialect ---------------===//

#include "kiln/ONNX/OnnxImporter.h"
#include "kiln/dialects/Kiln/KilnTraits.h"
#include "kiln/passes/Raising/ONNX/SparseMoEDispatch.h"

#include "DeclaredTypes.h"
#include "GraphValues.h"
#include "NodeContext.h"
#include "OldOpsets.h"
#include "ShapeArithmetic.h"
#include "SparseDispatchCheck.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/defs/parser.h"

#include <algorithm>
#include <map>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;
using kiln::raising::rewriteSparseMoEDispatch;
using kiln::raising::SparseDispatchCheck;

namespace {

/// The opsets whose operator semantics the handlers implement (handlers
/// check the opset where an operator changed within this range). Models
/// of opsets kOldestOpset to 6 import when their operators did not change
/// by opset 7 (OldOpsets.h).
constexpr int64_t kMinOpset = 7;
constexpr int64_t kOldestOpset = 1;
constexpr int64_t kMaxOpset = 27;
/// The most subgraph nodes one model may unroll into (Scan's body once per
/// step, nested bodies multiplied), so that no model grows without bound.
constexpr int64_t kMaxSubgraphNodes = 200000;

const HandlerTable &handlers() {
  static const HandlerTable table = [] {
    HandlerTable t;
    registerElementwiseHandlers(t);
    registerNNHandlers(t);
    registerWindowHandlers(t);
    registerLossHandlers(t);
    registerSamplingHandlers(t);
    registerSignalHandlers(t);
    registerPadHandlers(t);
    registerShapeHandlers(t);
    registerControlFlowHandlers(t);
    registerRecurrentHandlers(t);
    registerLoopHandler(t);
    registerIfHandler(t);
    registerOptionalHandlers(t);
    registerSequenceHandlers(t);
    registerTransformerHandlers(t);
    registerIndexingHandlers(t);
    registerEinsumHandler(t);
    registerQuantHandlers(t);
    registerContribOnnxDomainHandlers(t);
    return t;
  }();
  return table;
}

/// The handlers `Register` adds, built once.
template <void (*Register)(HandlerTable &)> const HandlerTable &tableOf() {
  static const HandlerTable table = [] {
    HandlerTable t;
    Register(t);
    return t;
  }();
  return table;
}

/// onnxruntime's com.microsoft operators (version 1 of the domain).
const HandlerTable &contribHandlers() {
  return tableOf<registerContribHandlers>();
}

/// ONNX's experimental ai.onnx.preview operators (version 1 of the domain).
const HandlerTable &previewHandlers() {
  return tableOf<registerPreviewHandlers>();
}

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, onnx::ModelProto &model,
                StringRef path, const OnnxImportOptions &options,
                std::vector<SparseDispatchCheck> sparseDispatch)
      : ctx(ctx), model(model), path(path), options(options),
        fileLoc(FileLineColLoc::get(&ctx, path, 0, 0)),
        sparseDispatch(std::move(sparseDispatch)) {}

  OwningOpRef<ModuleOp> run();

private:
  LogicalResult readOpsets();
  /// The type of a graph input, and per dimension the symbol it is ("" for
  /// a static one). Records the symbols' ranges in symbolRanges.
  FailureOr<RankedTensorType> inputType(const onnx::ValueInfoProto &info,
                                        SmallVectorImpl<std::string> &symbols);
  /// Checks that every --dim names a symbolic dimension of an input, and
  /// records the symbols' ranges on the entry function.
  LogicalResult recordSymbols(func::FuncOp func);
  /// The node's name, or "<op>_<index>" for an unnamed one.
  std::string nodeName(const onnx::NodeProto &node, size_t index) const;
  /// The handler of `node`'s operator, or null after reporting that Kiln
  /// does not import it.
  const HandlerTable::value_type *findHandler(const onnx::NodeProto &node,
                                              size_t index);
  LogicalResult importNode(const onnx::NodeProto &node, OpBuilder &b,
                           size_t index);
  /// A subgraph's nodes imported with its inputs bound to `inputs`
  /// (NodeContext::importSubgraph); the names it defines shadow the
  /// enclosing graph's until it returns.
  FailureOr<SmallVector<Value>> importSubgraph(const onnx::GraphProto &graph,
                                               ValueRange inputs, OpBuilder &b);
  /// A stand-in for `name`, an output of a node that failed: an empty
  /// tensor of the static type the graph declares for it (value_info or a
  /// graph output), so that the nodes reading it are still checked. Null
  /// when the graph declares no complete, supported type.
  Value placeholderFor(StringRef name, OpBuilder &b, Location loc);
  InFlightDiagnostic error() { return emitError(fileLoc); }

  // The steps of run(), in order.
  /// The ONNX element types the graph states; refuses sparse initializers.
  LogicalResult recordOnnxTypes();
  /// The graph inputs that become arguments (with their types) and those
  /// bound to a value; checks that --bind-input and --input-shape name
  /// graph inputs.
  LogicalResult
  selectArguments(SmallVectorImpl<Type> &argTypes,
                  SmallVectorImpl<const onnx::ValueInfoProto *> &args,
                  SmallVectorImpl<const onnx::ValueInfoProto *> &bound);
  /// The bound inputs as constants.
  LogicalResult bindInputs(OpBuilder &b,
                           ArrayRef<const onnx::ValueInfoProto *> bound,
                           StringRef modelDir);
  LogicalResult importInitializers(OpBuilder &b, StringRef modelDir);
  /// Imports every node in order. A node that fails (an unsupported
  /// operator, attribute value or type) is reported and the import goes
  /// on, so that one compile lists every problem: its outputs become
  /// placeholders (placeholderFor) or unavailable, and a node reading an
  /// unavailable value is skipped (and counted by one warning when the
  /// options ask for it), though still reported if Kiln lacks its
  /// operator. Fails when any node failed.
  LogicalResult importNodes(OpBuilder &b);
  /// The return of the graph outputs and the function's final type.
  /// Appends the values of options.dumpValues / dumpAll to the results,
  /// their ONNX names and their nodes' to `names`; fails on a name the
  /// graph lacks.
  LogicalResult
  collectDumpedValues(SmallVectorImpl<Value> &results,
                      SmallVectorImpl<Type> &resultTypes,
                      std::vector<std::pair<std::string, std::string>> &names);
  LogicalResult buildReturn(OpBuilder &b, func::FuncOp func,
                            ArrayRef<Type> argTypes);

  MLIRContext &ctx;
  onnx::ModelProto &model;
  StringRef path;
  const OnnxImportOptions &options;
  Location fileLoc;
  int64_t defaultOpset = 0;
  /// The com.microsoft opset (1 when the model does not import it).
  int64_t microsoftOpset = 1;
  /// The ai.onnx.preview opset (1 when the model does not import it).
  int64_t previewOpset = 1;
  /// Nodes imported from subgraphs so far (each unrolled copy counts).
  int64_t subgraphNodes = 0;
  llvm::StringMap<Value> values;
  NodeContext::Sequences sequences; // see NodeContext::sequences
  /// The sequence and optional graph inputs and outputs (GraphValues.h),
  /// the tensor ValueInfos their inputs pass, and the empty optionals.
  SmallVector<GraphValueGroup> valueGroups;
  std::deque<onnx::ValueInfoProto> elementInfos;
  llvm::StringSet<> absentValues;
  /// String tensors: graph inputs Kiln has no type for (reported by the
  /// first node that reads one, as unsupported on string tensors).
  llvm::StringSet<> stringValues;
  /// ONNX element types of values where the model states them.
  llvm::StringMap<int> onnxTypes;
  /// Shapes the rewrite of HF Mixtral's sparse dispatch assumed.
  std::vector<SparseDispatchCheck> sparseDispatch;
  /// The symbolic dimensions of the graph inputs (pinned ones included).
  std::map<std::string, DimRange> symbolRanges;
  /// Per argument, the symbol of each dimension ("" where static).
  SmallVector<SmallVector<std::string>> argSymbols;
  /// Sizes in the entry function (symbolic input dims, run-time shapes).
  std::unique_ptr<SymbolicDims> symbolicDims;
  /// Values that have none because their producer failed (a graph input of
  /// an unsupported type, a failed node's outputs without a placeholder).
  llvm::StringSet<> unavailable;
  /// A problem was reported that did not stop the import; it yields no
  /// module in the end.
  bool reportedProblems = false;
};

} // namespace

LogicalResult GraphImporter::readOpsets() {
  for (const onnx::OperatorSetIdProto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      defaultOpset = o.version();
    else if (o.domain() == "com.microsoft")
      microsoftOpset = o.version();
    else if (o.domain() == "ai.onnx.preview")
      previewOpset = o.version();
  if (defaultOpset == 0)
    return error() << "the model imports no version of the default ONNX "
                      "operator set (ai.onnx)";
  if (defaultOpset < kOldestOpset || defaultOpset > kMaxOpset)
    return error() << "the model uses ONNX opset " << defaultOpset
                   << "; Kiln imports opsets " << kMinOpset << " to "
                   << kMaxOpset
                   << " (convert older models with onnx.version_converter)";
  return success();
}

FailureOr<RankedTensorType>
GraphImporter::inputType(const onnx::ValueInfoProto &info,
                         SmallVectorImpl<std::string> &symbols) {
  const std::string &name = info.name();
  if (!info.type().has_tensor_type())
    return error() << "unsupported: graph input '" << name
                   << "' is not a tensor (Kiln passes only tensors: no "
                      "sequences, maps or optionals)";
  const onnx::TypeProto::Tensor &tensor = info.type().tensor_type();
  Type elt = elementTypeFor(&ctx, tensor.elem_type());
  if (!elt)
    return error() << "graph input '" << name << "' has element type "
                   << onnxTypeName(tensor.elem_type())
                   << ", which Kiln does not support";
  SmallVector<int64_t> shape;
  auto it = options.inputShapes.find(name);
  if (it != options.inputShapes.end()) {
    shape = it->second;
    symbols.assign(shape.size(), "");
    if (tensor.has_shape() && tensor.shape().dim_size() != (int)shape.size())
      return error() << "--input-shape gives input '" << name << "' rank "
                     << shape.size() << " but the model declares rank "
                     << tensor.shape().dim_size();
    if (tensor.has_shape()) {
      for (auto [i, d] : llvm::enumerate(tensor.shape().dim()))
        if (d.has_dim_value() && d.dim_value() != shape[i])
          return error() << "--input-shape gives input '" << name
                         << "' size " << shape[i] << " in dimension " << i
                         << " but the model fixes it to " << d.dim_value();
    }
    return RankedTensorType::get(shape, elt);
  }
  if (!tensor.has_shape())
    return error() << "graph input '" << name
                   << "' has no shape in the model; give it with "
                      "--input-shape "
                   << name << "=DIMS (e.g. " << name << "=1x16)";
  for (auto [i, d] : llvm::enumerate(tensor.shape().dim())) {
    if (d.has_dim_value() && d.dim_value() >= 0) {
      shape.push_back(d.dim_value());
      symbols.push_back("");
      continue;
    }
    // A symbolic dimension: named by the model (dim_param), or after its
    // input and position when the model leaves it anonymous.
    std::string symbol = d.has_dim_param() && !d.dim_param().empty()
                             ? d.dim_param()
                             : name + "_dim" + std::to_string(i);
    DimRange range = options.dimRanges.lookup(symbol);
    symbolRanges[symbol] = range;
    if (range.pinned()) {
      shape.push_back(range.min);
      symbols.push_back("");
      continue;
    }
    shape.push_back(ShapedType::kDynamic);
    symbols.push_back(symbol);
  }
  if (!fitsInAddressSpace(shape, elt))
    return error() << "graph input '" << name << "' of shape "
                   << shapeString(shape)
                   << " has more bytes than Kiln can address (2^63)";
  return RankedTensorType::get(shape, elt);
}

std::string GraphImporter::nodeName(const onnx::NodeProto &node,
                                    size_t index) const {
  return node.name().empty() ? node.op_type() + "_" + std::to_string(index)
                             : node.name();
}

const HandlerTable::value_type *
GraphImporter::findHandler(const onnx::NodeProto &node, size_t index) {
  std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
  std::string name = nodeName(node, index);
  Location loc = NameLoc::get(StringAttr::get(&ctx, name), fileLoc);
  bool microsoft = domain == "com.microsoft";
  bool preview = domain == "ai.onnx.preview";
  if (domain != "ai.onnx" && !microsoft && !preview) {
    emitError(loc) << "unsupported operator '" << node.op_type()
                   << "' (domain '" << domain << "') in node '" << name
                   << "': Kiln imports no operators of this domain yet";
    return nullptr;
  }
  const HandlerTable &table = microsoft ? contribHandlers()
                              : preview ? previewHandlers()
                                        : handlers();
  auto it = table.find(node.op_type());
  if (it != table.end() && !microsoft && !preview &&
      defaultOpset < opsetSevenDefinitionSince(node.op_type())) {
    emitError(loc) << "node '" << name << "' (" << node.op_type()
                   << "): the model uses ONNX opset " << defaultOpset
                   << ", whose " << node.op_type() << " differs from opset "
                   << kMinOpset << "'s; Kiln imports opsets " << kMinOpset
                   << " to " << kMaxOpset
                   << " (convert older models with onnx.version_converter)";
    return nullptr;
  }
  if (it == table.end()) {
    emitError(loc) << "unsupported operator '" << node.op_type()
                   << "' (domain '" << domain << "', opset "
                   << (microsoft ? microsoftOpset
                       : preview ? previewOpset
                                 : defaultOpset)
                   << ") in node '" << name << "'";
    return nullptr;
  }
  return &*it;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node,
                                        OpBuilder &b, size_t index) {
  std::string name = nodeName(node, index);
  Location loc = NameLoc::get(StringAttr::get(&ctx, name), fileLoc);
  bool microsoft = node.domain() == "com.microsoft";
  bool preview = node.domain() == "ai.onnx.preview";
  int64_t opset = microsoft ? microsoftOpset
                  : preview ? previewOpset
                            : defaultOpset;
  const HandlerTable::value_type *handler = findHandler(node, index);
  if (!handler)
    return failure();
  for (const std::string &in : node.input())
    if (!in.empty() && !values.count(in) && !sequences.count(in) &&
        !absentValues.contains(in))
      return emitError(loc) << "node '" << name << "' (" << node.op_type()
                            << ") reads '" << in
                            << "', which no earlier node, input or "
                               "initializer defines (the graph must be "
                               "topologically sorted)";
  NodeContext nc(node, name, b, loc, opset, values, onnxTypes);
  nc.symbolicDims = symbolicDims.get();
  nc.sequences = &sequences;
  auto subgraph = [&](const onnx::GraphProto &graph, ValueRange inputs) {
    return importSubgraph(graph, inputs, b);
  };
  nc.importSubgraph = subgraph;
  if (std::optional<LogicalResult> shapes = importShapeArithmetic(nc)) {
    if (failed(*shapes))
      return failure();
  } else if (failed(handler->second(nc))) {
    return failure();
  }
  // Outputs of the first input's element type inherit its ONNX type
  // (uint8 through Reshape, Transpose, ...), unless the handler set one.
  if (int inType = nc.onnxTypeOf(0)) {
    Type inElt = nc.input(0) ? nc.inputType(0).getElementType() : Type();
    for (int i = 0; i < node.output_size(); ++i) {
      Value out = values.lookup(node.output(i));
      if (out && !onnxTypes.count(node.output(i)) &&
          cast<RankedTensorType>(out.getType()).getElementType() == inElt)
        onnxTypes[node.output(i)] = inType;
    }
  }
  for (int i = 0; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !values.count(node.output(i)) &&
        !sequences.count(node.output(i)))
      return emitError(loc) << "node '" << name << "' (" << node.op_type()
                            << "): output " << i << " ('" << node.output(i)
                            << "') is not supported by Kiln";
  return success();
}

FailureOr<SmallVector<Value>>
GraphImporter::importSubgraph(const onnx::GraphProto &graph, ValueRange inputs,
                              OpBuilder &b) {
  if (graph.sparse_initializer_size())
    return error() << "subgraph '" << graph.name()
                   << "' has sparse initializers, which Kiln does not import";
  if (graph.input_size() != (int)inputs.size())
    return error() << "subgraph '" << graph.name() << "' takes "
                   << graph.input_size() << " inputs, given " << inputs.size();
  // Unrolling multiplies a body by its steps, nested bodies by each other's.
  subgraphNodes += graph.node_size();
  if (subgraphNodes > kMaxSubgraphNodes)
    return error() << "subgraph '" << graph.name()
                   << "': unrolling would import more than "
                   << kMaxSubgraphNodes << " nodes";
  // The enclosing graph's names come back afterwards, shadowed or not.
  llvm::StringMap<Value> savedValues = values;
  llvm::StringMap<int> savedTypes = onnxTypes;
  auto restore = [&] {
    values = std::move(savedValues);
    onnxTypes = std::move(savedTypes);
  };
  for (auto [in, value] : llvm::zip(graph.input(), inputs)) {
    values[in.name()] = value;
    onnxTypes.erase(in.name());
  }
  std::string modelDir = llvm::sys::path::parent_path(path).str();
  for (const onnx::TensorProto &t : graph.initializer()) {
    llvm::Expected<ElementsAttr> value =
        convertTensor(&ctx, t, modelDir, options.inlineConstantLimit);
    if (!value) {
      restore();
      return error() << "initializer '" << t.name() << "' of subgraph '"
                     << graph.name()
                     << "': " << llvm::toString(value.takeError());
    }
    Location loc = NameLoc::get(b.getStringAttr(t.name()), fileLoc);
    values[t.name()] = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(*value).getType(), cast<TypedAttr>(*value));
    onnxTypes[t.name()] = t.data_type();
  }
  for (auto [i, node] : llvm::enumerate(graph.node())) {
    if (failed(importNode(node, b, i))) {
      restore();
      return failure();
    }
  }
  SmallVector<Value> outputs;
  for (const onnx::ValueInfoProto &out : graph.output())
    outputs.push_back(values.lookup(out.name()));
  restore();
  if (llvm::is_contained(outputs, Value()))
    return error() << "subgraph '" << graph.name()
                   << "' does not define all of its outputs";
  return outputs;
}

Value GraphImporter::placeholderFor(StringRef name, OpBuilder &b,
                                    Location loc) {
  // A symbolic size would need the sizes of the failed node's inputs.
  RankedTensorType type = declaredStaticType(&ctx, model.graph(), name);
  if (!type)
    return nullptr;
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType());
}

LogicalResult GraphImporter::importNodes(OpBuilder &b) {
  bool anyFailed = false;
  SmallVector<std::string> skipped;
  for (auto [i, node] : llvm::enumerate(model.graph().node())) {
    auto isUnavailable = [&](const std::string &in) {
      return unavailable.contains(in);
    };
    if (llvm::any_of(node.input(), isUnavailable)) {
      std::string name = nodeName(node, i);
      std::string why = stringInputError(node, stringValues);
      if (!why.empty()) {
        anyFailed = true;
        emitError(NameLoc::get(StringAttr::get(&ctx, name), fileLoc))
            << "node '" << name << "' (" << node.op_type() << "): " << why;
        stringValues.clear();             // one line: the first node says it
      } else if (!findHandler(node, i)) { // needs no inputs
        anyFailed = true;
      } else {
        skipped.push_back(name);
      }
      for (const std::string &out : node.output())
        if (!out.empty()) // "" is an absent optional output
          unavailable.insert(out);
      continue;
    }
    if (succeeded(importNode(node, b, i)))
      continue;
    anyFailed = true;
    Location loc = NameLoc::get(StringAttr::get(&ctx, nodeName(node, i)),
                                fileLoc);
    for (const std::string &out : node.output()) {
      if (out.empty())
        continue;
      // A handler may have set some outputs before it failed.
      values.erase(out);
      if (Value placeholder = placeholderFor(out, b, loc))
        values[out] = placeholder;
      else
        unavailable.insert(out);
    }
  }
  if (!skipped.empty() && options.reportUncheckedNodes)
    emitWarning(fileLoc) << skipped.size()
                         << " node(s) not checked because they read a "
                            "value that an error above left undefined (the "
                            "first is '"
                         << skipped.front() << "')";
  return failure(anyFailed);
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  if (failed(readOpsets()) || failed(recordOnnxTypes()))
    return nullptr;
  OpBuilder b(&ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  b.setInsertionPointToEnd(module->getBody());

  std::string modelDir = llvm::sys::path::parent_path(path).str();
  SmallVector<Type> argTypes;
  SmallVector<const onnx::ValueInfoProto *> args;
  SmallVector<const onnx::ValueInfoProto *> bound;
  if (failed(selectArguments(argTypes, args, bound)))
    return nullptr;

  auto func = func::FuncOp::create(b, fileLoc, options.entryName,
                                   b.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  for (auto [i, in] : llvm::enumerate(args)) {
    values[in->name()] = body->getArgument(i);
    func.setArgAttr(i, "kiln.name", b.getStringAttr(in->name()));
    func.setArgAttr(i, "kiln.dtype",
                    b.getI32IntegerAttr(in->type().tensor_type().elem_type()));
    if (llvm::any_of(argSymbols[i], [](auto &s) { return !s.empty(); }))
      func.setArgAttr(i, kDimSymbolsAttr,
                      b.getStrArrayAttr(SmallVector<StringRef>(
                          argSymbols[i].begin(), argSymbols[i].end())));
  }
  for (const GraphValueGroup &group : valueGroups)
    if (group.sequence && group.present) {
      SmallVector<Value> &elements = sequences[group.name];
      for (const std::string &tensor : group.tensors)
        elements.push_back(values.lookup(tensor));
    }
  if (options.summary)
    options.summary->symbols.insert(symbolRanges.begin(), symbolRanges.end());
  if (failed(recordSymbols(func)))
    return nullptr;
  if (options.runtimeShapeInputs || func->hasAttr(kDimRangesAttr))
    symbolicDims = std::make_unique<SymbolicDims>(func);
  if (failed(bindInputs(b, bound, modelDir)) ||
      failed(importInitializers(b, modelDir)))
    return nullptr;

  // Handlers that need a size the data decides read the declared ones.
  recordDeclaredTypes(func, model.graph());
  LogicalResult imported = importNodes(b);
  forgetDeclaredTypes(func);
  if (!stringValues.empty()) { // a string input that no node reads
    error() << "unsupported: graph input '" << stringValues.begin()->getKey()
            << "' is a string tensor (Kiln has no string type)";
    return nullptr;
  }
  if (failed(imported) || reportedProblems)
    return nullptr;
  for (const SparseDispatchCheck &c : sparseDispatch)
    if (failed(checkSparseDispatch(c, values, fileLoc)))
      return nullptr;
  if (failed(buildReturn(b, func, argTypes)))
    return nullptr;
  return module;
}

LogicalResult GraphImporter::recordOnnxTypes() {
  const onnx::GraphProto &graph = model.graph();
  auto recordType = [&](const onnx::ValueInfoProto &info) {
    if (info.type().has_tensor_type() && info.type().tensor_type().elem_type())
      onnxTypes[info.name()] = info.type().tensor_type().elem_type();
  };
  for (const onnx::ValueInfoProto &info : graph.input())
    recordType(info);
  for (const onnx::ValueInfoProto &info : graph.value_info())
    recordType(info);
  for (const onnx::ValueInfoProto &info : graph.output())
    recordType(info);
  for (const onnx::TensorProto &t : graph.initializer())
    onnxTypes[t.name()] = t.data_type();
  for (const onnx::SparseTensorProto &t : graph.sparse_initializer()) {
    (void)t;
    error() << "sparse initializers are not supported";
    return failure();
  }
  return success();
}

LogicalResult GraphImporter::selectArguments(
    SmallVectorImpl<Type> &argTypes,
    SmallVectorImpl<const onnx::ValueInfoProto *> &args,
    SmallVectorImpl<const onnx::ValueInfoProto *> &bound) {
  const onnx::GraphProto &graph = model.graph();
  std::string flagError = checkValueFlags(graph, options);
  if (!flagError.empty())
    return error() << flagError;
  // Graph inputs that are not initializers become function arguments,
  // unless they are bound to a value.
  llvm::StringSet<> initializerNames;
  for (const onnx::TensorProto &t : graph.initializer())
    initializerNames.insert(t.name());
  for (const onnx::ValueInfoProto &in : graph.input()) {
    if (initializerNames.contains(in.name()))
      continue;
    if (options.boundInputs.count(in.name())) {
      bound.push_back(&in);
      continue;
    }
    if (isStringTensor(in.type())) {
      stringValues.insert(in.name());
      unavailable.insert(in.name());
      continue;
    }
    // A sequence or optional passes the tensors it holds (GraphValues.h).
    SmallVector<const onnx::ValueInfoProto *> tensors = {&in};
    if (!in.type().has_tensor_type()) {
      GraphValueGroup group;
      size_t first = elementInfos.size();
      std::string why = expandGraphInput(in, options, elementInfos, group);
      if (!why.empty()) {
        error() << why;
        unavailable.insert(in.name());
        reportedProblems = true;
        continue;
      }
      if (!group.present)
        absentValues.insert(in.name());
      tensors.clear();
      for (size_t i = first; i < elementInfos.size(); ++i)
        tensors.push_back(&elementInfos[i]);
      valueGroups.push_back(std::move(group));
    }
    for (const onnx::ValueInfoProto *tensor : tensors) {
      SmallVector<std::string> symbols;
      FailureOr<RankedTensorType> t = inputType(*tensor, symbols);
      if (failed(t)) {
        // Reported; the nodes that do not read it are still checked.
        unavailable.insert(in.name());
        reportedProblems = true;
        break;
      }
      argSymbols.push_back(std::move(symbols));
      argTypes.push_back(*t);
      args.push_back(tensor);
    }
  }
  for (const auto &entry : options.boundInputs) {
    if (!llvm::any_of(bound, [&](auto *a) { return a->name() == entry.first(); })) {
      error() << "--bind-input names '" << entry.first().str()
              << "', which is not a graph input";
      return failure();
    }
  }
  for (const auto &entry : options.inputShapes) {
    // An input already reported (say, its type) is an input all the same.
    if (unavailable.contains(entry.first()))
      continue;
    if (!llvm::any_of(args, [&](auto *a) { return a->name() == entry.first(); })) {
      std::string names;
      for (auto *a : args)
        names += (names.empty() ? "" : ", ") + a->name();
      error() << "--input-shape names '" << entry.first().str()
              << "', which is not a graph input (inputs: " << names << ")";
      return failure();
    }
  }
  return success();
}

LogicalResult GraphImporter::recordSymbols(func::FuncOp func) {
  for (const auto &entry : options.dimRanges) {
    if (symbolRanges.count(entry.first().str()))
      continue;
    std::string names;
    for (const auto &[name, range] : symbolRanges)
      names += (names.empty() ? "" : ", ") + name;
    return error() << "--dim names '" << entry.first().str()
                   << "', which no graph input has as a symbolic dimension ("
                   << (names.empty() ? "the inputs have none"
                                     : "symbolic dimensions: " + names)
                   << ")";
  }
  Builder b(&ctx);
  SmallVector<NamedAttribute> ranges;
  for (const auto &[name, range] : symbolRanges)
    if (!range.pinned())
      ranges.push_back(b.getNamedAttr(
          name, b.getDenseI64ArrayAttr({range.min, range.max})));
  if (!ranges.empty())
    func->setAttr(kDimRangesAttr, b.getDictionaryAttr(ranges));
  return success();
}

LogicalResult
GraphImporter::bindInputs(OpBuilder &b,
                          ArrayRef<const onnx::ValueInfoProto *> bound,
                          StringRef modelDir) {
  for (const onnx::ValueInfoProto *in : bound) {
    const BoundInput &value = options.boundInputs.find(in->name())->second;
    int declared = in->type().tensor_type().elem_type();
    if (declared != value.dtype) {
      error() << "--bind-input " << in->name() << ": the file holds "
              << onnxTypeName(value.dtype) << " but the input is "
              << onnxTypeName(declared);
      return failure();
    }
    onnx::TensorProto t;
    t.set_name(in->name());
    t.set_data_type(value.dtype);
    for (int64_t d : value.dims)
      t.add_dims(d);
    t.set_raw_data(value.data);
    llvm::Expected<ElementsAttr> attr =
        convertTensor(&ctx, t, modelDir, std::numeric_limits<int64_t>::max());
    if (!attr) {
      error() << "--bind-input " << in->name() << ": "
              << llvm::toString(attr.takeError());
      return failure();
    }
    Location loc = NameLoc::get(b.getStringAttr(in->name()), fileLoc);
    values[in->name()] = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(*attr).getType(), cast<TypedAttr>(*attr));
  }
  return success();
}

LogicalResult GraphImporter::importInitializers(OpBuilder &b,
                                                StringRef modelDir) {
  // The importer is the model's last reader: weights move into constants.
  for (onnx::TensorProto &t : *model.mutable_graph()->mutable_initializer()) {
    llvm::Expected<ElementsAttr> value = convertTensorTakingData(
        &ctx, t, modelDir, options.inlineConstantLimit);
    if (!value) {
      // Reported; the nodes that do not read it are still checked.
      error() << "initializer '" << t.name()
              << "': " << llvm::toString(value.takeError());
      unavailable.insert(t.name());
      reportedProblems = true;
      continue;
    }
    Location loc = NameLoc::get(b.getStringAttr(t.name()), fileLoc);
    values[t.name()] = arith::ConstantOp::create(
        b, loc, cast<TypedAttr>(*value).getType(), cast<TypedAttr>(*value));
  }
  return success();
}

LogicalResult GraphImporter::buildReturn(OpBuilder &b, func::FuncOp func,
                                         ArrayRef<Type> argTypes) {
  const onnx::GraphProto &graph = model.graph();
  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  // Per result: its name and declared ONNX dtype (0: undeclared, the
  // signature then takes the computed element type).
  std::vector<std::pair<std::string, int>> named;
  auto addResult = [&](Value v, const std::string &name, int declared) {
    results.push_back(v);
    resultTypes.push_back(v.getType());
    named.emplace_back(name, declared);
  };
  for (const onnx::ValueInfoProto &out : graph.output()) {
    if (!out.type().has_tensor_type()) {
      // A sequence or an optional: the tensors it holds (GraphValues.h).
      GraphValueGroup group;
      group.name = out.name();
      group.output = true;
      group.type = valueTypeText(out.type());
      auto seq = sequences.find(out.name());
      group.sequence = seq != sequences.end();
      if (group.sequence) {
        for (auto [i, v] : llvm::enumerate(seq->second)) {
          group.tensors.push_back(sequenceElementName(out.name(), i));
          addResult(v, group.tensors.back(), elementOnnxType(out.type()));
        }
      } else if (Value v = values.lookup(out.name())) {
        group.tensors.push_back(out.name());
        addResult(v, out.name(), elementOnnxType(out.type()));
      } else if (out.type().has_optional_type() &&
                 absentValues.contains(out.name())) {
        group.present = false;
      } else {
        return error() << "graph output '" << out.name() << "' (" << group.type
                       << ") is never computed";
      }
      valueGroups.push_back(std::move(group));
      continue;
    }
    Value v = values.lookup(out.name());
    if (!v) {
      error() << "graph output '" << out.name() << "' is "
              << (sequences.count(out.name())
                      ? "a sequence, but the model declares a tensor"
                      : "never computed");
      return failure();
    }
    int declared = out.type().tensor_type().elem_type();
    Type computed = cast<RankedTensorType>(v.getType()).getElementType();
    if (declared && elementTypeFor(&ctx, declared) != computed) {
      error() << "graph output '" << out.name() << "' is declared "
              << onnxTypeName(declared) << " but the graph computes "
              << computed;
      return failure();
    }
    addResult(v, out.name(), declared);
  }
  std::vector<std::pair<std::string, std::string>> dumped; // value, node
  if (failed(collectDumpedValues(results, resultTypes, dumped)))
    return failure();
  func::ReturnOp::create(b, fileLoc, results);
  func.setType(b.getFunctionType(argTypes, resultTypes));
  // The dumped values follow the graph's outputs (a sequence output
  // counts once per element).
  size_t firstDump = named.size();
  for (const auto &dump : dumped)
    named.emplace_back(dump.first, 0);
  for (auto [i, entry] : llvm::enumerate(named)) {
    func.setResultAttr(i, "kiln.name", b.getStringAttr(entry.first));
    if (entry.second)
      func.setResultAttr(i, "kiln.dtype", b.getI32IntegerAttr(entry.second));
  }
  for (auto [i, dump] : llvm::enumerate(dumped))
    func.setResultAttr(firstDump + i, "kiln.dump_node",
                       b.getStringAttr(dump.second));
  recordGraphValues(func, valueGroups);
  return success();
}

LogicalResult GraphImporter::collectDumpedValues(
    SmallVectorImpl<Value> &results, SmallVectorImpl<Type> &resultTypes,
    std::vector<std::pair<std::string, std::string>> &names) {
  const onnx::GraphProto &graph = model.graph();
  llvm::StringSet<> wanted, found, taken;
  for (const std::string &name : options.dumpValues)
    wanted.insert(name);
  for (const onnx::ValueInfoProto &out : graph.output())
    taken.insert(out.name());
  for (const onnx::NodeProto &node : graph.node()) {
    bool wholeNode = options.dumpAll || wanted.contains(node.name());
    if (wholeNode)
      found.insert(node.name());
    for (const std::string &out : node.output()) {
      if (!wholeNode && !wanted.contains(out))
        continue;
      found.insert(out);
      Value v = values.lookup(out);
      // Absent optional outputs, graph outputs (already results) and
      // values that are not tensors are not dumped.
      if (out.empty() || !v || !isa<RankedTensorType>(v.getType()) ||
          !taken.insert(out).second)
        continue;
      results.push_back(v);
      resultTypes.push_back(v.getType());
      // A node without a name is named after its first output.
      names.push_back(
          {out, node.name().empty() ? node.output(0) : node.name()});
    }
  }
  for (const std::string &name : options.dumpValues)
    if (!found.contains(name)) {
      error() << "--dump: the graph has no node or value named '" << name
              << "'";
      return failure();
    }
  return success();
}

/// Reads and parses the model at `path` (binary, or ONNX text when it ends
/// in .onnxtxt); false with `error` set when it cannot.
static bool parseModelFile(StringRef path, onnx::ModelProto &model,
                           std::string &error) {
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(path, /*IsText=*/false);
  if (!buffer) {
    error = "cannot read '" + path.str() +
            "': " + buffer.getError().message();
    return false;
  }
  StringRef data = (*buffer)->getBuffer();
  if (path.ends_with(".onnxtxt")) {
    onnx::Status status =
        onnx::OnnxParser::Parse(model, data.str().c_str());
    if (!status.IsOK()) {
      std::string message = status.ErrorMessage();
      std::replace(message.begin(), message.end(), '\n', ' ');
      error = "cannot parse '" + path.str() + "' as ONNX text: " + message;
      return false;
    }
    return true;
  }
  if (data.size() > (size_t)std::numeric_limits<int>::max() ||
      !model.ParseFromArray(data.data(), (int)data.size())) {
    error = "'" + path.str() +
            "' is not a valid ONNX model (the protobuf does not parse: "
            "truncated or not an ONNX file)";
    return false;
  }
  return true;
}

/// Adds the external-data locations of the tensors in `graph` (initializers,
/// Constant values, subgraphs) to `out`.
static void collectExternalData(const onnx::GraphProto &graph,
                                llvm::StringSet<> &out) {
  auto add = [&](const onnx::TensorProto &t) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL)
      return;
    for (const auto &kv : t.external_data())
      if (kv.key() == "location")
        out.insert(kv.value());
  };
  for (const onnx::TensorProto &t : graph.initializer())
    add(t);
  for (const onnx::NodeProto &node : graph.node())
    for (const onnx::AttributeProto &a : node.attribute()) {
      if (a.has_t())
        add(a.t());
      for (const onnx::TensorProto &t : a.tensors())
        add(t);
      if (a.has_g())
        collectExternalData(a.g(), out);
      for (const onnx::GraphProto &g : a.graphs())
        collectExternalData(g, out);
    }
}

llvm::Expected<std::vector<std::string>>
kiln::onnxExternalDataLocations(StringRef path) {
  onnx::ModelProto model;
  std::string error;
  if (!parseModelFile(path, model, error))
    return llvm::createStringError(error);
  llvm::StringSet<> locations;
  collectExternalData(model.graph(), locations);
  std::vector<std::string> out;
  for (const auto &entry : locations)
    out.push_back(entry.getKey().str());
  llvm::sort(out);
  return out;
}

OwningOpRef<ModuleOp> kiln::importOnnxModel(StringRef path, MLIRContext &ctx,
                                            const OnnxImportOptions &options) {
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  onnx::ModelProto model;
  std::string error;
  if (!parseModelFile(path, model, error)) {
    emitError(fileLoc) << error;
    return nullptr;
  }
  if (!model.has_graph() || (model.graph().node_size() == 0 &&
                             model.graph().output_size() == 0)) {
    emitError(fileLoc) << "'" << path << "' holds no ONNX graph";
    return nullptr;
  }
  if (options.summary)
    summarize(model, *options.summary);
  ctx.loadDialect<KilnDialect, arith::ArithDialect, func::FuncDialect,
                  tensor::TensorDialect, linalg::LinalgDialect,
                  scf::SCFDialect>();
  // HF Mixtral's sparse MoE dispatch (NonZero per expert) becomes the
  // dense form before the node-by-node import; see passes/Raising/ONNX/SparseMoEDispatch.cpp.
  std::vector<SparseDispatchCheck> sparseDispatch =
      rewriteSparseMoEDispatch(*model.mutable_graph());
  GraphImporter importer(ctx, model, path, options, std::move(sparseDispatch));
  return importer.run();
}
