//===- TargetRegistry.cpp - The registry of code generation targets -------===//

#include "kiln/Target/Target.h"

#include "llvm/Support/ErrorHandling.h"

using namespace kiln;

static std::vector<std::unique_ptr<Target>> &registry() {
  static std::vector<std::unique_ptr<Target>> targets;
  return targets;
}

void kiln::registerTarget(std::unique_ptr<Target> target) {
  if (lookupTarget(target->getName()))
    llvm::report_fatal_error("kiln: target registered twice");
  registry().push_back(std::move(target));
}

const Target *kiln::lookupTarget(llvm::StringRef name) {
  for (const std::unique_ptr<Target> &target : registry())
    if (target->getName() == name)
      return target.get();
  return nullptr;
}

std::vector<const Target *> kiln::getRegisteredTargets() {
  std::vector<const Target *> targets;
  for (const std::unique_ptr<Target> &target : registry())
    targets.push_back(target.get());
  return targets;
}
