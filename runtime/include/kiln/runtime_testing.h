/*===- kiln/runtime_testing.h - Fault injection for tests -----------------===*\
|*                                                                            *|
|* Hooks that make the runtime fail on purpose, so that tests can check that *|
|* every failure ends in a clear status with everything released and the    *|
|* process able to go on. Not for production use; they cost one atomic load *|
|* per allocation while off.                                                 *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_TESTING_H
#define KILN_RUNTIME_TESTING_H

#include <stdint.h>

#include "kiln/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* After `after` more successful allocations of tensor storage (session
 * inputs and outputs, the CPU workspace), every later one fails as if the
 * machine were out of memory, until this is called again; a negative
 * `after` turns injection off (the default). Allocations the compiled code
 * makes while it runs are not affected: it cannot report a failure. */
KILN_API void kiln_testing_fail_allocations(int64_t after);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_TESTING_H */
