//===- NameOutputDims.cpp - The kiln-name-output-dims pass ----------------===//

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/RegionUtils.h"

namespace kiln {
#define GEN_PASS_DEF_NAMEOUTPUTDIMS
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// The name an output goes by in messages.
std::string outputName(func::FuncOp entry, unsigned i) {
  if (auto name = entry.getResultAttrOfType<StringAttr>(i, "kiln.name"))
    return name.str();
  return "output" + std::to_string(i);
}

struct NameOutputDimsPass
    : EntryFunctionPass<NameOutputDimsPass, kiln::impl::NameOutputDimsBase> {
  using EntryFunctionPass::EntryFunctionPass;

  LogicalResult runOnEntry(func::FuncOp entry) {
    if (llvm::all_of(entry.getResultTypes(), [](Type t) {
          auto tensor = dyn_cast<RankedTensorType>(t);
          return !tensor || tensor.hasStaticShape();
        }))
      return success();
    SymbolicDims dims(entry);
    unifySymbolSizes(entry, dims);
    auto ret = cast<func::ReturnOp>(entry.getBody().front().getTerminator());
    Builder b(&getContext());
    SmallVector<Attribute> computed;
    for (auto [i, result] : llvm::enumerate(ret.getOperands())) {
      auto type = dyn_cast<RankedTensorType>(result.getType());
      if (!type || type.hasStaticShape())
        continue;
      SmallVector<StringRef> names;
      std::vector<std::string> storage;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d)) {
          storage.push_back("");
          continue;
        }
        std::optional<std::string> symbol =
            dims.symbolOf(dims.sizeOf(result, d));
        if (!symbol) {
          // Only the run knows it: the entry reports it (and the runtime
          // sizes the output after the fact).
          symbol = outputName(entry, i) + "_dim" + std::to_string(d);
          computed.push_back(b.getStringAttr(*symbol));
        }
        storage.push_back(*symbol);
      }
      for (const std::string &s : storage)
        names.push_back(s);
      entry.setResultAttr(i, kDimSymbolsAttr, b.getStrArrayAttr(names));
    }
    if (!computed.empty())
      entry->setAttr(kComputedDimsAttr, b.getArrayAttr(computed));
    eraseDeadOps(entry);
    return success();
  }

  /// The analysis materializes sizes it then may not need (reified result
  /// shapes), and the unified tensor.dims are left unused.
  static void eraseDeadOps(func::FuncOp entry) {
    IRRewriter rewriter(entry.getContext());
    (void)runRegionDCE(rewriter, entry->getRegions());
  }

  /// Every `tensor.dim` of an argument dimension that is a symbol becomes
  /// the symbol's one value.
  static void unifySymbolSizes(func::FuncOp entry, SymbolicDims &dims) {
    entry.walk([&](tensor::DimOp dim) {
      auto arg = dyn_cast<BlockArgument>(dim.getSource());
      std::optional<int64_t> d = dim.getConstantIndex();
      if (!arg || !d || arg.getOwner()->getParentOp() != entry)
        return;
      SmallVector<std::string> names =
          dimSymbols(entry.getArgAttrDict(arg.getArgNumber()));
      if (*d >= (int64_t)names.size() || names[*d].empty())
        return;
      Value symbol = dims.symbolValue(names[*d]);
      if (symbol && symbol != dim.getResult())
        dim.getResult().replaceAllUsesWith(symbol);
    });
  }
};

} // namespace
