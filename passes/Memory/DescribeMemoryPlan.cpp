//===- DescribeMemoryPlan.cpp - The workspace plan in kernel terms --------===//

#include "kiln/passes/Memory/DescribeMemoryPlan.h"

#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "llvm/ADT/StringExtras.h"

#include <tuple>

using namespace mlir;

namespace {

/// Bytes of a static memref (0 for a dynamic one).
int64_t bytesOf(MemRefType type, const DataLayout &layout) {
  if (!type.hasStaticShape())
    return 0;
  return type.getNumElements() *
         std::max<int64_t>(1, layout.getTypeSize(type.getElementType()));
}

/// "4x8xf32".
std::string typeText(MemRefType type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  for (int64_t dim : type.getShape())
    os << (ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim))
       << "x";
  os << type.getElementType();
  return text;
}

/// The first and last kernel (ids in `kernelId`) using `view` or anything
/// that may alias it (the results of its users, of the ops a nested
/// terminator yields it to), as kiln-plan-workspace measured lives; none
/// when no kernel uses it.
std::optional<std::pair<unsigned, unsigned>>
lifeInKernels(memref::ViewOp view, Block &body,
              const llvm::DenseMap<Operation *, unsigned> &kernelId) {
  std::optional<std::pair<unsigned, unsigned>> life;
  auto use = [&](Operation *op) {
    auto it = kernelId.find(body.findAncestorOpInBlock(*op));
    if (it == kernelId.end())
      return;
    unsigned id = it->second;
    life =
        life ? std::pair{std::min(life->first, id), std::max(life->second, id)}
             : std::pair{id, id};
  };
  use(view);
  llvm::SmallPtrSet<Value, 8> seen = {view.getResult()};
  SmallVector<Value> aliases = {view.getResult()};
  auto addAliases = [&](Operation *op) {
    for (Value result : op->getResults())
      if (isa<MemRefType>(result.getType()) && seen.insert(result).second)
        aliases.push_back(result);
  };
  while (!aliases.empty()) {
    Value v = aliases.pop_back_val();
    for (Operation *user : v.getUsers()) {
      use(user);
      if (user->hasTrait<OpTrait::IsTerminator>()) {
        if (user->getBlock() != &body)
          addAliases(user->getParentOp());
        continue;
      }
      addAliases(user);
    }
  }
  return life;
}

} // namespace

DictionaryAttr kiln::describeMemoryPlan(func::FuncOp func,
                                        ArrayRef<Operation *> kernels,
                                        unsigned firstId) {
  BlockArgument workspace;
  for (BlockArgument arg : func.getArguments())
    if (func.getArgAttr(arg.getArgNumber(), "kiln.workspace"))
      workspace = arg;
  if (!workspace)
    return {};
  Block &body = func.getBody().front();
  llvm::DenseMap<Operation *, unsigned> kernelId;
  for (auto [i, kernel] : llvm::enumerate(kernels))
    kernelId[kernel] = firstId + i;

  struct Planned {
    Location loc;
    MemRefType type;
    int64_t offset, bytes;
    unsigned first, last;
  };
  DataLayout layout = DataLayout::closest(func);
  SmallVector<Planned> planned;
  // Bytes live during each kernel, for the peak.
  std::vector<int64_t> live(kernels.size(), 0);
  for (Operation *user : workspace.getUsers()) {
    auto view = dyn_cast<memref::ViewOp>(user);
    if (!view)
      continue;
    std::optional<int64_t> offset = getConstantIntValue(view.getByteShift());
    std::optional<std::pair<unsigned, unsigned>> life =
        lifeInKernels(view, body, kernelId);
    if (!offset || !life)
      continue;
    int64_t bytes = bytesOf(view.getType(), layout);
    for (unsigned k = life->first; k <= life->second; ++k)
      live[k - firstId] += bytes;
    planned.push_back({view.getLoc(), view.getType(), *offset, bytes,
                       life->first, life->second});
  }
  // In the order they come to life, then by place.
  llvm::sort(planned, [](const Planned &x, const Planned &y) {
    return std::tie(x.first, x.offset, x.last) <
           std::tie(y.first, y.offset, y.last);
  });
  Builder b(func.getContext());
  SmallVector<Attribute> buffers;
  for (const Planned &buffer : planned) {
    kiln::Provenance p;
    p.add(buffer.loc);
    buffers.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("nodes", b.getStringAttr(llvm::join(p.nodes, ", "))),
         b.getNamedAttr("type", b.getStringAttr(typeText(buffer.type))),
         b.getNamedAttr("offset", b.getI64IntegerAttr(buffer.offset)),
         b.getNamedAttr("bytes", b.getI64IntegerAttr(buffer.bytes)),
         b.getNamedAttr("first", b.getI64IntegerAttr(buffer.first)),
         b.getNamedAttr("last", b.getI64IntegerAttr(buffer.last))}));
  }
  auto bytesAttr = func->getAttrOfType<IntegerAttr>("kiln.workspace_bytes");
  int64_t peak = live.empty() ? 0 : *llvm::max_element(live);
  return b.getDictionaryAttr(
      {b.getNamedAttr("workspace_bytes",
                      b.getI64IntegerAttr(bytesAttr ? bytesAttr.getInt() : 0)),
       b.getNamedAttr("peak_bytes", b.getI64IntegerAttr(peak)),
       b.getNamedAttr("buffers", b.getArrayAttr(buffers))});
}
