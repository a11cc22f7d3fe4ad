//===- EntryBoundary.cpp - Retyping the model function's boundary ---------===//

#include "EntryBoundary.h"

using namespace mlir;

func::FuncOp kiln::findEntry(ModuleOp module, StringRef entryName) {
  auto entry = module.lookupSymbol<func::FuncOp>(entryName);
  if (!entry)
    module.emitError("no entry function named '") << entryName << "'";
  return entry;
}

void kiln::retypeEntryBoundary(
    ModuleOp module, StringRef entryName,
    function_ref<Type(unsigned, BlockArgument, OpBuilder &)> argument,
    function_ref<Type(OpOperand &, OpBuilder &)> result) {
  auto entry = module.lookupSymbol<func::FuncOp>(entryName);
  if (!entry || entry.isExternal())
    return;
  Block &body = entry.front();
  OpBuilder b(module.getContext());
  SmallVector<Type> argTypes(entry.getArgumentTypes());
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    b.setInsertionPointToStart(&body);
    if (Type type = argument(i, arg, b))
      argTypes[i] = type;
  }
  SmallVector<Type> resultTypes(entry.getResultTypes());
  entry.walk([&](func::ReturnOp ret) {
    for (OpOperand &operand : ret->getOpOperands()) {
      b.setInsertionPoint(ret);
      if (Type type = result(operand, b))
        resultTypes[operand.getOperandNumber()] = type;
    }
  });
  entry.setType(b.getFunctionType(argTypes, resultTypes));
}
