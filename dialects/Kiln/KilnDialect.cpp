//===- KilnDialect.cpp - The Kiln dialect ---------------------------------===//

#include "kiln/dialects/Kiln/KilnDialect.h"
#include "kiln/dialects/Kiln/KilnBoundedOps.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/KilnPipelineOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace kiln;

#include "kiln/dialects/Kiln/KilnDialect.cpp.inc"
#include "kiln/dialects/Kiln/KilnEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "kiln/dialects/Kiln/KilnAttrs.cpp.inc"

void KilnDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "kiln/dialects/Kiln/KilnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kiln/dialects/Kiln/KilnOps.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kiln/dialects/Kiln/KilnPipelineOps.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "kiln/dialects/Kiln/KilnBoundedOps.cpp.inc"
      >();
}

// Folders produce elements attributes; they become arith.constant so that
// every later pass sees one kind of constant.
Operation *KilnDialect::materializeConstant(OpBuilder &builder,
                                            Attribute value, Type type,
                                            Location loc) {
  auto typed = dyn_cast<TypedAttr>(value);
  if (!typed || typed.getType() != type)
    return nullptr;
  return arith::ConstantOp::create(builder, loc, type, typed);
}
