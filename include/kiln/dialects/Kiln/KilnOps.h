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

#endif // KILN_DIALECTS_KILN_KILNOPS_H
