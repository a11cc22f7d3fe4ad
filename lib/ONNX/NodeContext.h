//===- NodeContext.h - What an ONNX node handler sees -----------*- C++ -*-===//
//
// Private to lib/ONNX. Each ONNX operator has a handler (a function taking a
// NodeContext) that reads the node's inputs and attributes, builds Kiln ops
// and sets the node's outputs. Handlers are grouped by kind in
// Onnx*Ops.cpp; OnnxOps.def is the one list of operators and their handlers.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_NODECONTEXT_H
#define KILN_LIB_ONNX_NODECONTEXT_H

#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include "onnx/onnx_pb.h"

#include <initializer_list>
#include <optional>

namespace kiln::onnx_import {

/// Maps an ONNX TensorProto.DataType to the MLIR element type Kiln uses, or
/// null for a type Kiln does not support.
mlir::Type elementTypeFor(mlir::MLIRContext *ctx, int onnxType);

/// A readable name for an ONNX data type ("float", "uint8", ...).
std::string onnxTypeName(int onnxType);

/// Whether an ONNX element type is an unsigned integer (uint2 to uint64),
/// which Kiln holds in a signless integer read as unsigned.
bool isUnsignedOnnxType(int onnxType);

/// Converts an ONNX tensor to an elements attribute: inline when it has at
/// most `inlineLimit` elements, else a dense resource blob. `modelDir`
/// resolves external data. A failure says why.
llvm::Expected<mlir::ElementsAttr>
convertTensor(mlir::MLIRContext *ctx, const onnx::TensorProto &tensor,
              llvm::StringRef modelDir, int64_t inlineLimit);

/// As convertTensor, for a tensor the caller gives up: raw data stored as
/// it is in memory moves into the constant instead of being copied (a
/// model's weights are most of its bytes, and its import time).
llvm::Expected<mlir::ElementsAttr>
convertTensorTakingData(mlir::MLIRContext *ctx, onnx::TensorProto &tensor,
                        llvm::StringRef modelDir, int64_t inlineLimit);

class NodeContext {
public:
  NodeContext(const onnx::NodeProto &node, llvm::StringRef name,
              mlir::OpBuilder &builder, mlir::Location loc, int64_t opset,
              llvm::StringMap<mlir::Value> &values,
              llvm::StringMap<int> &onnxTypes)
      : node(node), name(name.str()), b(builder), loc(loc), opset(opset),
        values(values), onnxTypes(onnxTypes) {}

  const onnx::NodeProto &node;
  /// The node's name, or "<OpType>_<index>" for an unnamed node.
  std::string name;
  mlir::OpBuilder &b;
  mlir::Location loc;
  /// The opset of the node's domain that the model imports.
  int64_t opset;

  // Inputs and outputs. A missing optional input (absent or "") is null.
  size_t numInputs() const { return node.input_size(); }
  mlir::Value input(size_t i) const;
  mlir::RankedTensorType inputType(size_t i) const;
  size_t numOutputs() const { return node.output_size(); }
  bool hasOutput(size_t i) const;
  void setOutput(size_t i, mlir::Value v);
  /// How a handler of one result ends: sets output 0 to `result` and
  /// succeeds, or fails when `result` is null (the builder that made it
  /// has reported why).
  mlir::LogicalResult setResult(mlir::Value result) {
    if (!result)
      return mlir::failure();
    setOutput(0, result);
    return mlir::success();
  }
  /// The same for outputs 0, 1, ... of a handler of several results.
  mlir::LogicalResult setResults(llvm::ArrayRef<mlir::Value> results) {
    if (llvm::is_contained(results, mlir::Value()))
      return mlir::failure();
    for (auto [i, result] : llvm::enumerate(results))
      setOutput(i, result);
    return mlir::success();
  }
  /// ONNX sequences by name: a sequence that stays inside the graph is the
  /// list of its tensors, known at compile time (Kiln has no sequence type
  /// and its runtime passes only tensors). Set by the importer.
  using Sequences = llvm::StringMap<llvm::SmallVector<mlir::Value>>;
  Sequences *sequences = nullptr;
  /// Input `i` as a sequence; null when it is not one.
  const llvm::SmallVector<mlir::Value> *sequenceInput(size_t i) const;
  void setSequenceOutput(size_t i, llvm::ArrayRef<mlir::Value> elements);
  /// Sizes in the function being built, for models with symbolic
  /// dimensions (see ShapeArithmetic.h).
  SymbolicDims *symbolicDims = nullptr;
  /// Imports a graph attribute's subgraph (Scan's body) at the insertion
  /// point, its inputs bound to `inputs`; its nodes also read the enclosing
  /// graph's values. Its outputs, or failure after the failing node's
  /// error. Set by the importer.
  llvm::function_ref<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(
      const onnx::GraphProto &, mlir::ValueRange)>
      importSubgraph;

  /// The ONNX element type of input `i` where the graph tells it (inputs,
  /// initializers, value_info, typed outputs), else 0. It is how handlers
  /// know that an i8 holds uint8 data.
  int onnxTypeOf(size_t i) const;
  void setOutputOnnxType(size_t i, int type);

  // Attributes.
  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t fallback) const;
  float getFloat(llvm::StringRef name, float fallback) const;
  std::string getString(llvm::StringRef name, llvm::StringRef fallback) const;
  std::optional<llvm::SmallVector<int64_t>> getInts(llvm::StringRef name) const;
  /// A string attribute naming one of `choices` (its default `fallback`):
  /// the choice, or the unsupported-value error listing them and failure.
  template <typename E>
  mlir::FailureOr<E>
  getChoice(llvm::StringRef name, llvm::StringRef fallback,
            llvm::ArrayRef<std::pair<llvm::StringRef, E>> choices) {
    std::string value = getString(name, fallback);
    std::string supported;
    for (const auto &[text, choice] : choices) {
      if (value == text)
        return choice;
      supported += (supported.empty() ? "'" : ", '") + text.str() + "'";
    }
    (void)unsupported(name, "'" + value + "'", supported);
    return mlir::failure();
  }

  /// The value of input `i` when it is a compile-time constant (after
  /// folding); otherwise an error naming `what` and failure.
  mlir::FailureOr<mlir::DenseElementsAttr> constantInput(size_t i,
                                                         llvm::StringRef what);
  mlir::FailureOr<llvm::SmallVector<int64_t>>
  constantInts(size_t i, llvm::StringRef what);
  /// The one integer of constant input `i` (a scalar or a one-element
  /// tensor, such as TopK's K); otherwise an error naming `what`.
  mlir::FailureOr<int64_t> constantInt(size_t i, llvm::StringRef what);
  /// The same for an optional input: `absent` when there is no input `i`.
  mlir::FailureOr<int64_t> constantInt(size_t i, llvm::StringRef what,
                                       int64_t absent);

  /// Reports "node 'NAME' (OpType): MESSAGE" and returns failure.
  mlir::LogicalResult error(const llvm::Twine &message) const;
  /// Reports an attribute value Kiln does not support, and the values it
  /// does support where the handler can say them in a few words.
  mlir::LogicalResult unsupported(llvm::StringRef attrName,
                                  const llvm::Twine &value,
                                  const llvm::Twine &supported = "") const;

  // Builders that compute result types.
  mlir::Value constant(mlir::DenseElementsAttr value);
  mlir::Value scalar(mlir::Type elementType, double value);
  mlir::Value cast(mlir::Value v, mlir::Type elementType);
  mlir::Value reshape(mlir::Value v, llvm::ArrayRef<int64_t> shape);
  mlir::Value transpose(mlir::Value v, llvm::ArrayRef<int64_t> perm);
  /// [B, S, H*D] -> [B, H, S, D] for `heads` heads.
  mlir::Value splitHeads(mlir::Value x, int64_t heads);
  /// The query and key/value head counts from the attributes `qName` and
  /// `kvName`; an error and failure unless both are positive and the
  /// query heads are a multiple of the key/value heads.
  mlir::LogicalResult headCounts(llvm::StringRef qName, llvm::StringRef kvName,
                                 int64_t &qHeads, int64_t &kvHeads);
  /// An i64 tensor constant of `shape` holding `values`.
  mlir::Value i64Constant(llvm::ArrayRef<int64_t> values,
                          llvm::ArrayRef<int64_t> shape);
  mlir::Value compare(kiln::CompareDirection dir, mlir::Value lhs,
                      mlir::Value rhs);
  /// A broadcasting binary op; null after an error if shapes disagree.
  template <typename OpTy>
  mlir::Value binary(mlir::Value lhs, mlir::Value rhs) {
    mlir::RankedTensorType type = broadcastType(lhs, rhs, typeOf(lhs));
    if (!type)
      return nullptr;
    return b.createOrFold<OpTy>(loc, type, lhs, rhs);
  }
  template <typename OpTy> mlir::Value unary(mlir::Value v) {
    return b.createOrFold<OpTy>(loc, v.getType(), v);
  }
  /// Reduction over `axes` (normalized, sorted), keeping dims if asked.
  template <typename OpTy>
  mlir::Value reduce(mlir::Value v, llvm::ArrayRef<int64_t> axes,
                     bool keepdims) {
    mlir::RankedTensorType in = typeOf(v);
    llvm::SmallVector<int64_t> shape;
    for (int64_t d = 0; d < in.getRank(); ++d) {
      if (!llvm::is_contained(axes, d))
        shape.push_back(in.getDimSize(d));
      else if (keepdims)
        shape.push_back(1);
    }
    return b.createOrFold<OpTy>(
        loc, mlir::RankedTensorType::get(shape, in.getElementType()), v,
        b.getDenseI64ArrayAttr(axes), b.getBoolAttr(keepdims));
  }

  /// The broadcast of the operands' shapes with element type of `like`;
  /// null after an error.
  mlir::RankedTensorType broadcastType(mlir::Value lhs, mlir::Value rhs,
                                       mlir::RankedTensorType like);
  static mlir::RankedTensorType typeOf(mlir::Value v) {
    return llvm::cast<mlir::RankedTensorType>(v.getType());
  }
  /// `axis` made non-negative for a rank-`rank` tensor; failure (with an
  /// error naming `what`) when out of range.
  mlir::FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank,
                                         llvm::StringRef what = "axis");

private:
  llvm::StringMap<mlir::Value> &values;
  llvm::StringMap<int> &onnxTypes;
};

using NodeHandler = mlir::LogicalResult (*)(NodeContext &);
using HandlerTable = llvm::StringMap<NodeHandler>;

/// A handler of an operator that cannot do without its input 0 receives it
/// as `x`; OnnxOps.def lists it as `withDataInput<handler>`.
using DataInputHandler = mlir::LogicalResult (*)(NodeContext &, mlir::Value x);
template <DataInputHandler handler>
mlir::LogicalResult withDataInput(NodeContext &nc) {
  mlir::Value x = nc.input(0);
  if (!x)
    return nc.error("expects an input");
  return handler(nc, x);
}

/// Each adds its file's lines of OnnxOps.def to `table`.
void registerElementwiseHandlers(HandlerTable &table);
void registerNNHandlers(HandlerTable &table);
void registerWindowHandlers(HandlerTable &table);
void registerLossHandlers(HandlerTable &table);
void registerSamplingHandlers(HandlerTable &table);
void registerSignalHandlers(HandlerTable &table);
void registerPadHandlers(HandlerTable &table);
void registerShapeHandlers(HandlerTable &table);
void registerControlFlowHandlers(HandlerTable &table);
void registerRecurrentHandlers(HandlerTable &table);
void registerLoopHandler(HandlerTable &table);
void registerIfHandler(HandlerTable &table);
void registerOptionalHandlers(HandlerTable &table);
void registerSequenceHandlers(HandlerTable &table);
void registerTransformerHandlers(HandlerTable &table);
void registerIndexingHandlers(HandlerTable &table);
void registerEinsumHandler(HandlerTable &table);
void registerQuantHandlers(HandlerTable &table);
/// onnxruntime's contrib operators: the com.microsoft domain, and the ones
/// it registers in the ONNX domain (SimplifiedLayerNormalization).
void registerContribHandlers(HandlerTable &table);
void registerContribOnnxDomainHandlers(HandlerTable &table);
void registerContribAttentionHandlers(HandlerTable &table);
void registerContribMoEHandlers(HandlerTable &table);
/// ONNX's experimental ai.onnx.preview domain (FlexAttention).
void registerPreviewHandlers(HandlerTable &table);

/// numpy.matmul of `a` and `b` (1-D operands are a row or a column, batch
/// dimensions broadcast); null after reporting an error on `nc`.
mlir::Value numpyMatmul(NodeContext &nc, mlir::Value a, mlir::Value b);

/// `v` (int8 or uint8 as `onnxType`) minus its zero point `zp` (optional),
/// in i32, as MatMulInteger and ConvInteger compute. With `perRow`, a
/// zero point of [M] applies to rows: it becomes [M, 1].
mlir::Value centeredInteger(NodeContext &nc, mlir::Value v, int onnxType,
                            mlir::Value zp, bool perRow);

/// The last step of QLinearMatMul and QLinearConv: output 0 is `scaled`
/// (f32, already divided by y_scale) quantized with y_zero_point (input 7,
/// one element, optional) into its type (uint8 without one).
mlir::LogicalResult setQLinearOutput(NodeContext &nc, mlir::Value scaled);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_NODECONTEXT_H
