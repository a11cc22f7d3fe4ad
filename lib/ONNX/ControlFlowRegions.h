//===- ControlFlowRegions.h - What Loop and If share -----------*- C++ -*-===//
//
// Private to lib/ONNX: helpers of the handlers that import an ONNX
// subgraph into an scf region (Loop's scf.while, If's scf.if).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_ONNX_CONTROLFLOWREGIONS_H
#define KILN_LIB_ONNX_CONTROLFLOWREGIONS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include "onnx/onnx_pb.h"

namespace kiln::onnx_import {

/// The one element of `v`, a scalar or a tensor of one element (Loop's M
/// and cond, If's cond are scalars, but exporters also give them as [1]);
/// null when `v` may hold more.
mlir::Value extractScalar(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value v);

/// `v` with the static shape a subgraph declares for its output `out`,
/// where the importer could not tell it (a Slice at Loop's iteration
/// number): a model whose subgraph computes another shape is invalid ONNX.
mlir::Value refineToDeclared(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value v, const onnx::ValueInfoProto &out);

/// A type that holds both `a` and `b` (a Loop-carried value over all
/// steps, an If output of either branch): `a` with the dimensions dynamic
/// where `b` gives another or an unknown size; null when the rank or
/// element type differ.
mlir::RankedTensorType joinTypes(mlir::RankedTensorType a,
                                 mlir::RankedTensorType b);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_CONTROLFLOWREGIONS_H
