//===- ConvertDynamicArgumentsToSymbolValues.cpp --------------------------===//
//
// The kiln-convert-dynamic-arguments-to-symbol-values pass.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Boundary/Passes.h"

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTDYNAMICARGUMENTSTOSYMBOLVALUES
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct ConvertDynamicArgumentsToSymbolValuesPass
    : kiln::impl::ConvertDynamicArgumentsToSymbolValuesBase<
          ConvertDynamicArgumentsToSymbolValuesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto entry = module.lookupSymbol<func::FuncOp>(entryName);
    if (!entry) {
      module.emitError("no entry function named '") << entryName << "'";
      return signalPassFailure();
    }
    auto ranges = entry->getAttrOfType<DictionaryAttr>(kDimRangesAttr);
    if (!ranges || ranges.empty())
      return;
    // Symbol k is the k-th entry of kiln.dim_ranges (sorted by name).
    llvm::StringMap<int64_t> symbolIndex;
    for (auto [k, entryAttr] : llvm::enumerate(ranges))
      symbolIndex[entryAttr.getName()] = k;

    OpBuilder b(&getContext());
    unsigned valuesIndex = entry.getNumArguments();
    auto valuesType = MemRefType::get({(int64_t)ranges.size()}, b.getI64Type());
    if (failed(entry.insertArgument(
            valuesIndex, valuesType,
            b.getDictionaryAttr(
                b.getNamedAttr("kiln.symbol_values", b.getUnitAttr())),
            entry.getLoc())))
      return signalPassFailure();
    Value values = entry.getArgument(valuesIndex);
    Block &body = entry.getBody().front();
    b.setInsertionPointToStart(&body);
    Location loc = entry.getLoc();

    // Each symbol's size, loaded once.
    SmallVector<Value> symbolSizes;
    for (int64_t k = 0; k < (int64_t)ranges.size(); ++k) {
      Value index = arith::ConstantIndexOp::create(b, loc, k);
      Value raw = memref::LoadOp::create(b, loc, values, index);
      symbolSizes.push_back(
          arith::IndexCastOp::create(b, loc, b.getIndexType(), raw));
    }

    for (unsigned i = 0; i < valuesIndex; ++i) {
      auto type = dyn_cast<MemRefType>(entry.getArgument(i).getType());
      if (!type || type.hasStaticShape())
        continue;
      SmallVector<std::string> names = dimSymbols(entry.getArgAttrDict(i));
      SmallVector<OpFoldResult> sizes;
      for (int64_t d = 0; d < type.getRank(); ++d) {
        if (!type.isDynamicDim(d)) {
          sizes.push_back(b.getIndexAttr(type.getDimSize(d)));
          continue;
        }
        auto known = d < (int64_t)names.size()
                         ? symbolIndex.find(names[d])
                         : symbolIndex.end();
        if (known == symbolIndex.end()) {
          entry.emitError() << "argument " << i << " dimension " << d
                            << " is dynamic but names no symbol of "
                               "kiln.dim_ranges";
          return signalPassFailure();
        }
        sizes.push_back(symbolSizes[known->second]);
      }
      if (failed(rebuildArgument(b, entry, i, type, sizes)))
        return signalPassFailure();
    }
  }

  /// Retypes argument `i` as a rank-0 memref (its address) and rebuilds the
  /// dynamic view from `sizes`, dense row-major.
  static LogicalResult rebuildArgument(OpBuilder &b, func::FuncOp entry,
                                       unsigned i, MemRefType type,
                                       ArrayRef<OpFoldResult> sizes) {
    if (!type.getLayout().isIdentity())
      return entry.emitError() << "argument " << i
                               << " has a non-identity layout: " << type;
    Location loc = entry.getLoc();
    SmallVector<OpFoldResult> strides(type.getRank());
    OpFoldResult stride = b.getIndexAttr(1);
    for (int64_t d = type.getRank() - 1; d >= 0; --d) {
      strides[d] = stride;
      if (d > 0)
        stride = multiply(b, loc, stride, sizes[d]);
    }
    BlockArgument arg = entry.getArgument(i);
    auto address = MemRefType::get({}, type.getElementType());
    arg.setType(address);
    auto view = memref::ReinterpretCastOp::create(
        b, loc, type, arg, b.getIndexAttr(0), sizes, strides);
    arg.replaceAllUsesExcept(view.getResult(), view);
    SmallVector<Type> inputs(entry.getBody().front().getArgumentTypes());
    entry.setType(b.getFunctionType(inputs, entry.getResultTypes()));
    return success();
  }

  static OpFoldResult multiply(OpBuilder &b, Location loc, OpFoldResult x,
                               OpFoldResult y) {
    auto constant = [](OpFoldResult f) -> std::optional<int64_t> {
      if (auto a = dyn_cast<Attribute>(f))
        return cast<IntegerAttr>(a).getInt();
      return std::nullopt;
    };
    if (constant(x) && constant(y))
      return b.getIndexAttr(*constant(x) * *constant(y));
    if (constant(x) == 1)
      return y;
    if (constant(y) == 1)
      return x;
    auto value = [&](OpFoldResult f) -> Value {
      if (std::optional<int64_t> c = constant(f))
        return arith::ConstantIndexOp::create(b, loc, *c);
      return cast<Value>(f);
    };
    return arith::MulIOp::create(b, loc, value(x), value(y)).getResult();
  }
};

} // namespace
