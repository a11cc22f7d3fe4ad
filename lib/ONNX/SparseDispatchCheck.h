//===- SparseDispatchCheck.h - Check a rewritten sparse MoE dispatch -*- C++
//-*-===//

#ifndef KILN_LIB_ONNX_SPARSEDISPATCHCHECK_H
#define KILN_LIB_ONNX_SPARSEDISPATCHCHECK_H

#include "kiln/passes/Raising/ONNX/SparseMoEDispatch.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/StringMap.h"

namespace kiln::onnx_import {

/// Whether the sparse MoE dispatch that was rewritten to its dense form
/// (rewriteSparseMoEDispatch) has the shapes that make the two the same
/// computation, looking up the imported `values`; an error at `fileLoc`
/// (naming the NonZero node) otherwise.
mlir::LogicalResult
checkSparseDispatch(const kiln::raising::SparseDispatchCheck &c,
                    const llvm::StringMap<mlir::Value> &values,
                    mlir::Location fileLoc);

} // namespace kiln::onnx_import

#endif // KILN_LIB_ONNX_SPARSEDISPATCHCHECK_H
