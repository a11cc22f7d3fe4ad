//===- WriteStateResultsInPlace.cpp - State results into their inputs ----===//
//
// The runtime passes a state input (a generation step's KV cache) as a
// buffer it keeps between steps; the step's contract is to leave the
// updated state there. One-shot bufferization usually computes the update
// in that buffer already (the cache input is writable and the update is a
// loop of inserts into it), so the result is simply dropped; otherwise it
// is copied back.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_WRITESTATERESULTSINPLACE
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The buffer `v` is known to be: through casts, and through the results
/// of loops that yield their iteration buffer unchanged (a cache updated
/// in place, one batch entry an iteration).
Value underlyingBuffer(Value v) {
  while (true) {
    if (auto cast = v.getDefiningOp<memref::CastOp>()) {
      v = cast.getSource();
      continue;
    }
    if (auto loop = v.getDefiningOp<scf::ForOp>()) {
      unsigned i = cast<OpResult>(v).getResultNumber();
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      if (yield.getOperand(i) == loop.getRegionIterArg(i)) {
        v = loop.getInitArgs()[i];
        continue;
      }
    }
    return v;
  }
}

struct WriteStateResultsInPlacePass
    : EntryFunctionPass<WriteStateResultsInPlacePass,
                        kiln::impl::WriteStateResultsInPlaceBase> {
  using EntryFunctionPass::EntryFunctionPass;

  LogicalResult runOnEntry(func::FuncOp entry) {
    llvm::StringMap<BlockArgument> stateInputs;
    for (BlockArgument arg : entry.getArguments())
      if (entry.getArgAttr(arg.getArgNumber(), "kiln.state"))
        if (auto name = entry.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                           "kiln.name"))
          stateInputs[name.getValue()] = arg;
    auto ret = cast<func::ReturnOp>(entry.getBody().front().getTerminator());
    llvm::BitVector drop(entry.getNumResults());
    OpBuilder b(ret);
    for (unsigned i = 0; i < entry.getNumResults(); ++i) {
      auto of = entry.getResultAttrOfType<StringAttr>(i, "kiln.state_of");
      if (!of)
        continue;
      auto it = stateInputs.find(of.getValue());
      if (it == stateInputs.end()) {
        entry.emitError() << "result " << i << " is the state of '"
                          << of.getValue()
                          << "', which is no input tagged kiln.state";
        return failure();
      }
      Value value = ret.getOperand(i);
      BlockArgument input = it->second;
      if (!isa<BaseMemRefType>(value.getType()) ||
          !isa<BaseMemRefType>(input.getType())) {
        entry.emitError() << "state '" << of.getValue()
                          << "' must be bufferized first";
        return failure();
      }
      if (underlyingBuffer(value) != input)
        memref::CopyOp::create(b, ret.getLoc(), value, input);
      drop.set(i);
    }
    if (drop.none())
      return success();
    ret->eraseOperands(drop);
    if (failed(entry.eraseResults(drop)))
      return failure();
    return success();
  }
};

} // namespace
