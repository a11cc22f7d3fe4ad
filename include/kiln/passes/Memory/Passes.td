//===- Passes.td - Kiln Memory passes ----------------------*- tablegen -*-===//
//
// Bufferized code's intermediate buffers planned into one workspace.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_MEMORY_PASSES_TD
#define KILN_PASSES_MEMORY_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanWorkspace : Pass<"kiln-plan-workspace", "mlir::ModuleOp"> {
  let summary = "Turn the entry's memref.alloc's into views of one workspace "
                "argument, offsets planned by liveness";
  let description = [{
    Compiled code does not allocate its intermediates on every call: each
    buffer of a public function becomes a `memref.view` into one
    `memref<Nxi8>` argument appended to the function, the workspace that
    the runtime allocates once per session (the CUDA target: in device
    memory, 256-byte aligned; the CPU target: host memory, 64-byte
    aligned, passed as the last pointer of `buffers`). Offsets are planned
    here, on static shapes: each buffer lives from its allocation to the
    last operation of the function body that uses it or anything that may
    alias it (views, casts, the results of loops it is an iter_arg of or is
    yielded to; operations with regions count as a whole), and buffers
    whose lives do not overlap share bytes (first fit, offsets and the size
    multiples of `alignment`). A top-level buffer that reaches the return
    or a raw pointer lives to the end. The `memref.dealloc`s of planned
    buffers are erased. The size is recorded as `kiln.workspace_bytes` on
    the function and the argument is tagged `kiln.workspace`.

    Allocations inside sequential loops (`scf.for`, `scf.while`, `scf.if`)
    are planned too, for the whole top-level op around them, when nothing
    of the buffer leaves its block (no yield to the next iteration): every
    iteration then uses the same bytes. Allocations inside parallel regions
    (`scf.forall` and `scf.parallel` bodies, which OpenMP threads run at the
    same time), and loop buffers that do leave their block, stay
    allocations; on the CPU the deallocation pipeline, which runs after
    this pass, frees them (it never frees a view of an argument).

    Example:

    ```mlir
    %0 = memref.alloc() {alignment = 64 : i64} : memref<4x8xf32>
    // becomes, with %ws the new last argument memref<128xi8>
    %0 = memref.view %ws[%c0][] : memref<128xi8> to memref<4x8xf32>
    ```
  }];
  let options = [
    Option<"keepDynamic", "keep-dynamic-allocations", "bool",
           /*default=*/"false",
           "Leave allocations of a size known only at run time as they are "
           "(the CPU target frees them with the deallocation pipeline) "
           "instead of rejecting them">,
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Offsets and the workspace size are multiples of this (at most "
           "the alignment the runtime gives the workspace: 64 on the CPU, "
           "256 on CUDA)">,
  ];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // KILN_PASSES_MEMORY_PASSES_TD
