//===- KilnOps.h - Operations of the Kiln dialect ---------------*- C++ -*-===//

#ifndef KILN_DIALECTS_KILN_KILNOPS_H
#define KILN_DIALECTS_KILN_KILNOPS_H

#include "kiln/dialects/Kiln/KilnDialect.h"
#include "kiln/dialects/Kiln/KilnTraits.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kiln/dialects/Kiln/KilnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/dialects/Kiln/KilnAttrs.h.inc"

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnOps.h.inc"

namespace kiln {

/// The number of positions a window of `kernel` elements (dilated by
/// `dilation`) takes along a dimension of `size` padded by `padBegin` and
/// `padEnd`, moving by `stride`: rounded down, or up with `ceilMode`,
/// where a last window that would start past the input and the leading
/// pad is dropped (ONNX's pooling rule). kiln.conv and kiln.pool verify
/// their result shapes with it, and the importer computes them with it.
int64_t windowOutputSize(int64_t size, int64_t kernel, int64_t stride,
                         int64_t dilation, int64_t padBegin, int64_t padEnd,
                         bool ceilMode = false);

} // namespace kiln

#endif // KILN_DIALECTS_KILN_KILNOPS_H
