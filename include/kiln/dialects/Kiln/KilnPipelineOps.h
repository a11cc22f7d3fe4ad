//===- KilnPipelineOps.h - Point to point between ranks ---------*- C++ -*-===//
//
// kiln.send and kiln.recv (KilnPipelineOps.td), generated apart from the
// other ops so that only the passes that make or lower them include them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNPIPELINEOPS_H
#define KILN_DIALECTS_KILN_KILNPIPELINEOPS_H

#include "kiln/dialects/Kiln/KilnOps.h"

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnPipelineOps.h.inc"

#endif // KILN_DIALECTS_KILN_KILNPIPELINEOPS_H
