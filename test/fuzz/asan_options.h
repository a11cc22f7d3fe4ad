//===- asan_options.h - ASan defaults for targets that link LLVM/MLIR -*- C++ -*-===//
//
// The compiler's targets link Debian's libLLVM/libMLIR, which are not
// instrumented, while LLVM's headers instantiated in Kiln's instrumented
// code poison BumpPtrAllocator slabs (LLVM_ADDRESS_SANITIZER_BUILD). The
// two copies of the allocator disagree, and the library's writes into a
// slab read as use-after-poison. Manual poisoning is therefore off for
// these targets; ASan's own checks of heap, stack and globals stay on.
// Included once, by each such target's source.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TEST_FUZZ_ASAN_OPTIONS_H
#define KILN_TEST_FUZZ_ASAN_OPTIONS_H

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
extern "C" const char *__asan_default_options() {
  return "allow_user_poisoning=0";
}
#endif
#endif

#endif // KILN_TEST_FUZZ_ASAN_OPTIONS_H
