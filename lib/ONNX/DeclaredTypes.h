//===- DeclaredTypes.h - The static types a graph declares ------*- C++ -*-===//
//
// The types an ONNX graph states for its values (value_info and graph
// outputs), for handlers that need a size the data decides at compile
// time: on a target without run-time sizes (CUDA), the length a model
// declares for a NonZero or Unique output is the length it keeps.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_DECLAREDTYPES_H
#define KILN_LIB_ONNX_DECLAREDTYPES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

namespace onnx {
class GraphProto;
} // namespace onnx

namespace kiln::onnx_import {

class NodeContext;

/// The complete static type `graph` declares for `name` (value_info or a
/// graph output), else null.
mlir::RankedTensorType declaredStaticType(mlir::MLIRContext *ctx,
                                          const onnx::GraphProto &graph,
                                          llvm::StringRef name);

/// Records on `func`, while its nodes are imported, every complete static
/// type `graph` declares; declaredOutputType reads them, and
/// forgetDeclaredTypes removes them before anything else sees `func`.
void recordDeclaredTypes(mlir::func::FuncOp func,
                         const onnx::GraphProto &graph);
void forgetDeclaredTypes(mlir::func::FuncOp func);

/// The static type the graph declares for output `i` of the node `nc`
/// imports, else null.
mlir::RankedTensorType declaredOutputType(const NodeContext &nc, size_t i);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_DECLAREDTYPES_H
