//===- KilnBoundedOps.h - Results of data-dependent size --------*- C++ -*-===//
//
// kiln.nonzero, kiln.unique and kiln.non_max_suppression
// (KilnBoundedOps.td), generated apart from the other ops so that only the
// code that makes or lowers them includes them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECTS_KILN_KILNBOUNDEDOPS_H
#define KILN_DIALECTS_KILN_KILNBOUNDEDOPS_H

#include "kiln/dialects/Kiln/KilnOps.h"

#define GET_OP_CLASSES
#include "kiln/dialects/Kiln/KilnBoundedOps.h.inc"

#endif // KILN_DIALECTS_KILN_KILNBOUNDEDOPS_H
