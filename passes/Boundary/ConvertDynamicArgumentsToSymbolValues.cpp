//===- ConvertDynamicArgumentsToSymbolValues.cpp --------------------------===//
//
// The kiln-convert-dynamic-arguments-to-symbol-values pass.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Boundary/Passes.h"

#include "EntryBoundary.h"

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTDYNAMICARGUMENTSTOSYMBOLVALUES
#include "kiln/passes/Boundary/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

struct ConvertDynamicArgumentsToSymbolValuesPass
    : EntryFunctionPass<ConvertDynamicArgumentsToSymbolValuesPass,
                        kiln::impl::ConvertDynamicArgumentsToSymbolValuesBase> {
  using EntryFunctionPass::EntryFunctionPass;

  LogicalResult runOnEntry(func::FuncOp entry) {
    auto ranges = entry->getAttrOfType<DictionaryAttr>(kDimRangesAttr);
    auto computed = entry->getAttrOfType<ArrayAttr>(kComputedDimsAttr);
    if ((!ranges || ranges.empty()) && (!computed || computed.empty()))
      return success();
    // The symbol values' layout (kiln/artifact_format.h): the symbols the
    // inputs bind (kiln.dim_ranges order), those the run computes
    // (kiln.computed_dims order), one capacity per output with a computed
    // dim, then the status word when there is such an output.
    llvm::StringMap<int64_t> symbolIndex;
    int64_t next = 0;
    for (NamedAttribute range : ranges ? ranges.getValue()
                                       : ArrayRef<NamedAttribute>())
      symbolIndex[range.getName()] = next++;
    int64_t inputSymbols = next;
    for (Attribute name : computed ? computed.getValue() : ArrayRef<Attribute>())
      symbolIndex[cast<StringAttr>(name).getValue()] = next++;
    SmallVector<unsigned> computedOutputs;
    for (unsigned i = 0; i < entry.getNumArguments(); ++i)
      if (llvm::any_of(dimSymbols(entry.getArgAttrDict(i)),
                       [&](const std::string &name) {
                         auto it = symbolIndex.find(name);
                         return it != symbolIndex.end() &&
                                it->second >= inputSymbols;
                       }))
        computedOutputs.push_back(i);
    int64_t firstCapacity = next;
    int64_t statusSlot = next + computedOutputs.size();
    int64_t count = statusSlot + (computedOutputs.empty() ? 0 : 1);

    OpBuilder b(&getContext());
    unsigned valuesIndex = entry.getNumArguments();
    auto valuesType = MemRefType::get({count}, b.getI64Type());
    if (failed(entry.insertArgument(
            valuesIndex, valuesType,
            b.getDictionaryAttr(
                b.getNamedAttr("kiln.symbol_values", b.getUnitAttr())),
            entry.getLoc())))
      return failure();
    SymbolValues values{entry.getArgument(valuesIndex), statusSlot};
    Block &body = entry.getBody().front();
    b.setInsertionPointToStart(&body);
    Location loc = entry.getLoc();

    // Each input symbol's size, loaded once; the status starts at 0.
    SmallVector<Value> symbolSizes;
    for (int64_t k = 0; k < inputSymbols; ++k)
      symbolSizes.push_back(values.load(b, loc, k));
    if (!computedOutputs.empty())
      values.store(b, loc, statusSlot, arith::ConstantIndexOp::create(b, loc, 0));
    OpBuilder::InsertPoint afterLoads = b.saveInsertionPoint();

    for (unsigned i = 0; i < valuesIndex; ++i) {
      auto type = dyn_cast<MemRefType>(entry.getArgument(i).getType());
      if (!type || type.hasStaticShape())
        continue;
      if (const unsigned *slot = llvm::find(computedOutputs, i);
          slot != computedOutputs.end()) {
        int64_t capacity = firstCapacity + (slot - computedOutputs.begin());
        if (failed(writeComputedOutput(b, entry, i, type, values, capacity,
                                       symbolIndex, inputSymbols)))
          return failure();
        continue;
      }
      b.restoreInsertionPoint(afterLoads);
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
        if (known == symbolIndex.end() || known->second >= inputSymbols) {
          entry.emitError() << "argument " << i << " dimension " << d
                            << " is dynamic but names no symbol of "
                               "kiln.dim_ranges";
          return failure();
        }
        sizes.push_back(symbolSizes[known->second]);
      }
      if (failed(rebuildArgument(b, entry, i, type, sizes)))
        return failure();
    }
    return success();
  }

  /// The symbol-values argument: loads and stores of its int64 slots.
  struct SymbolValues {
    Value memref;
    int64_t statusSlot;
    Value load(OpBuilder &b, Location loc, int64_t slot) const {
      Value index = arith::ConstantIndexOp::create(b, loc, slot);
      Value raw = memref::LoadOp::create(b, loc, memref, index);
      return arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
    }
    void store(OpBuilder &b, Location loc, int64_t slot, Value size) const {
      Value raw = arith::IndexCastOp::create(b, loc, b.getI64Type(), size);
      Value index = arith::ConstantIndexOp::create(b, loc, slot);
      memref::StoreOp::create(b, loc, raw, memref, ValueRange{index});
    }
  };

  /// An output with a dimension only the run knows: its one writer, the
  /// copy bufferization made of the result, reports the dims in the symbol
  /// values and writes the data when it fits the capacity the runtime
  /// gave; otherwise it sets the status, and the runtime runs again with
  /// room for the reported size.
  static LogicalResult
  writeComputedOutput(OpBuilder &b, func::FuncOp entry, unsigned i,
                      MemRefType type, const SymbolValues &values,
                      int64_t capacitySlot,
                      const llvm::StringMap<int64_t> &symbolIndex,
                      int64_t inputSymbols) {
    BlockArgument arg = entry.getArgument(i);
    auto copy = arg.hasOneUse()
                    ? dyn_cast<memref::CopyOp>(*arg.getUsers().begin())
                    : memref::CopyOp();
    if (!copy || copy.getTarget() != arg)
      return entry.emitError()
             << "argument " << i
             << " has a dimension only the run knows, so it must be written "
                "by one memref.copy (as buffer-results-to-out-params writes "
                "a dynamic result)";
    Location loc = copy.getLoc();
    b.setInsertionPoint(copy);
    Value source = copy.getSource();
    SmallVector<OpFoldResult> sizes =
        memref::getMixedSizes(b, loc, source);
    SmallVector<std::string> names = dimSymbols(entry.getArgAttrDict(i));
    for (auto [d, name] : llvm::enumerate(names)) {
      auto known = symbolIndex.find(name);
      if (known != symbolIndex.end() && known->second >= inputSymbols)
        values.store(b, loc, known->second,
                     getValueOrCreateConstantIndexOp(b, loc, sizes[d]));
    }
    OpFoldResult elements = b.getIndexAttr(1);
    for (OpFoldResult size : sizes)
      elements = multiply(b, loc, elements, size);
    Value fits = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ule,
        getValueOrCreateConstantIndexOp(b, loc, elements),
        values.load(b, loc, capacitySlot));
    auto write = scf::IfOp::create(b, loc, fits, /*withElseRegion=*/true);
    b.setInsertionPointToStart(write.thenBlock());
    if (failed(rebuildArgument(b, entry, i, type, sizes)))
      return failure();
    // rebuildArgument replaced the copy's target with the view.
    copy->moveBefore(write.thenBlock()->getTerminator());
    b.setInsertionPointToStart(write.elseBlock());
    values.store(b, loc, values.statusSlot,
                 arith::ConstantIndexOp::create(b, loc, 1));
    return success();
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
