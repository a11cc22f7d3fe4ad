//===- Provenance.cpp - Which ONNX nodes an op came from ------------------===//

#include "kiln/dialects/Kiln/Provenance.h"
#include "kiln/dialects/Kiln/KernelNames.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <algorithm>
#include <set>

using namespace mlir;

void kiln::Provenance::add(Location loc) {
  loc->walk([&](Location inner) {
    if (auto name = dyn_cast<NameLoc>(inner))
      nodes.insert(name.getName().strref());
    if (auto fused = dyn_cast<FusedLoc>(inner))
      if (auto kind = dyn_cast_or_null<StringAttr>(fused.getMetadata()))
        kinds.insert(kind.strref());
    return WalkResult::advance();
  });
}

std::string kiln::kernelNameOf(const Provenance &p, llvm::StringRef fallback) {
  if (p.kinds.empty())
    return fallback.str();
  std::string name;
  for (auto [i, kind] : llvm::enumerate(p.kinds)) {
    if (i == 3) {
      name += "+...";
      break;
    }
    llvm::StringRef shortKind = kind;
    shortKind.consume_front("kiln.");
    name += (i ? "+" : "") + shortKind.str();
  }
  return name;
}

Location kiln::tagWithOpKind(Location loc, llvm::StringRef kind) {
  if (auto fused = dyn_cast<FusedLoc>(loc))
    if (auto tag = dyn_cast_or_null<StringAttr>(fused.getMetadata()))
      if (tag.strref() == kind)
        return loc;
  return FusedLoc::get(loc.getContext(), {loc},
                       StringAttr::get(loc.getContext(), kind));
}

Location kiln::fuseProvenance(Location a, Location b) {
  if (a == b)
    return a;
  return FusedLoc::get(a.getContext(), {a, b});
}

Location kiln::matchedSubgraphLoc(Operation *root) {
  Block *block = root->getBlock();
  // Latest first, so that every user in the subgraph is decided before
  // the op it reads.
  auto later = [](Operation *a, Operation *b) { return b->isBeforeInBlock(a); };
  std::set<Operation *, decltype(later)> pending(later);
  llvm::SmallPtrSet<Operation *, 32> dying = {root};
  SmallVector<Location> locs = {root->getLoc()};
  auto enqueueProducers = [&](Operation *op) {
    for (Value operand : op->getOperands())
      if (Operation *producer = operand.getDefiningOp())
        if (producer->getBlock() == block)
          pending.insert(producer);
  };
  enqueueProducers(root);
  while (!pending.empty()) {
    Operation *op = *pending.begin();
    pending.erase(pending.begin());
    bool onlyFeedsSubgraph = !op->use_empty();
    for (Operation *user : op->getUsers()) {
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      onlyFeedsSubgraph &= inBlock && dying.contains(inBlock);
    }
    if (!onlyFeedsSubgraph)
      continue;
    dying.insert(op);
    if (!op->hasTrait<OpTrait::ConstantLike>())
      locs.push_back(op->getLoc());
    enqueueProducers(op);
  }
  std::reverse(locs.begin(), locs.end()); // the model's order
  return FusedLoc::get(root->getContext(), locs);
}

std::string kiln::describeNodes(Location loc, unsigned limit) {
  Provenance p;
  p.add(loc);
  if (p.nodes.empty())
    return "";
  std::string text = p.nodes.size() == 1 ? "node " : "nodes ";
  for (auto [i, name] : llvm::enumerate(p.nodes)) {
    if (i == limit) {
      text += ", ... (" + std::to_string(p.nodes.size()) + " in all)";
      break;
    }
    text += (i ? ", '" : "'") + name.str() + "'";
  }
  return text;
}
