//===- AllTargets.cpp - Every target this build of Kiln has ---------------===//
//
// One line per target: a new target is a folder beside lib/Target/CPU with
// its register function, and a line here.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/Target.h"
#include "kiln/Target/CPU/CPUTarget.h"
#include "kiln/Target/CUDA/CUDATarget.h"

void kiln::registerAllTargets() {
  static bool registered = false;
  if (registered)
    return;
  registered = true;
  registerCpuTarget();
  registerCudaTarget();
}
