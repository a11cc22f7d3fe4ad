//===- Passes.td - Kiln GPU passes -------------------------*- tablegen -*-===//
//
// Bufferized linalg -> CUDA kernels and the host schedule that launches them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GPU_PASSES_TD
#define KILN_PASSES_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertAttentionToKernels
    : Pass<"kiln-gpu-convert-attention-to-kernels", "mlir::func::FuncOp"> {
  let summary = "Turn kiln.attention ops into flash-attention gpu.launch's "
                "(online softmax, only the key tiles the mask kind allows)";
  let description = [{
    Kiln's attention kernel generator for the CUDA target. It runs on the
    tensor level, before `kiln-decompose-composite-ops` would expand the op
    into matmuls over a materialized `[B, Hq, S, L]` score tensor, and
    replaces each `kiln.attention` it covers with a `gpu.launch` whose
    operands are `bufferization.to_buffer`s of the inputs (read only) and a
    `memref.alloc` for the output, returned through a `restrict`
    `bufferization.to_tensor`: bufferization, the workspace planner and
    the rest of `kiln-gpu-kernel-pipeline` then treat the launch like the
    ones the other generators build later.

    Prefill (more than `decode-max-queries` query rows): one block of 128
    threads per (query block of 32 rows, query head, batch); 4 threads per
    query row. The block's queries, and per key tile (32 keys, 16 when
    the head dimension is large) the keys, the values and the tile's
    probabilities are staged in shared memory (workgroup attributions,
    rows padded by one word against bank conflicts). Each thread computes
    a quarter of its row's scores, the row's running max and sum are
    combined with `gpu.shuffle xor` over the row's 4 threads (online
    softmax: the accumulator is rescaled by exp(m - m')), and each thread
    accumulates a quarter of the row's value features in registers.

    Decode (at most `decode-max-queries` rows, head and value dimensions
    multiples of 32): one block of 4 warps per (query, query head, batch);
    the keys are split over the warps (4 keys per warp and tile), the
    lanes split the features (dot products reduced with `gpu.shuffle
    xor`), and the warps' partial (max, sum, accumulator) are combined
    through shared memory at the end.

    Both kernels loop only over the key tiles that the mask kind allows
    (`none`, `causal`, `sliding_window`, `hierarchical` with leading global
    tokens: bounds from `AttentionKeyRange.h`, shared with the CPU kernel;
    `block_sparse` whose cells hold whole tiles and query blocks: the
    allowed tiles of each layout row read from constant tables built at
    compile time), and mask per pair only in tiles that cross an edge of
    the allowed region (an `scf.if` on a uniform condition). Query head h reads KV head
    h / (Hq / Hkv) (GQA, MQA); `kv_seqlen` caps the keys; the softcap is
    applied. Inputs may be f32, f16 or bf16 (all the same type): 16-bit
    elements are widened to f32 as they are loaded and the output is
    rounded back. Scores and products are f32 FMAs per thread (no tensor
    cores yet). Not covered, left to the reference lowering: other types, a
    `mask` tensor, the `scores` result, `global` indices, `block_sparse`
    with cells smaller than a tile (32 keys and 32 queries for prefill, 16
    keys for decode) or not aligned to them, head or value dimensions above
    128 (or value dimensions not a multiple of 4).

    Example:

    ```mlir
    %o, %pk, %pv = kiln.attention %q, %k, %v
        {scale = 0.125 : f32, mask_kind = #kiln.mask_kind<causal>}
        : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>,
           tensor<1x2x128x64xf32>) -> (...)
    ```

    becomes a `gpu.launch` with a grid of (4, 8, 1) blocks of 128 threads
    and four workgroup buffers, whose `scf.for` over key tiles runs from
    tile 0 to the tile holding the block's last query.
  }];
  let options = [
    Option<"decodeMaxQueries", "decode-max-queries", "int64_t", "4",
           "Ops with at most this many query rows take the decode kernel">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect"];
}

def ConvertMatmulsToMmaKernels
    : Pass<"kiln-gpu-convert-matmuls-to-mma-kernels", "mlir::ModuleOp"> {
  let summary = "Turn f16/bf16 matmul generics accumulating in f32 into "
                "tensor-core (mma.sync, and wgmma on sm_90a) launches";
  let description = [{
    Kiln's matmul kernel generator for sm_80 and later. It claims
    bufferized `linalg.generic`s that compute
    `C[b?, m, n] += ext(A[b?, m, k]) * ext(B[b?, k, n])` (the form
    `kiln-convert-kiln-to-linalg` gives matmuls: loops `(b?, m, k, n)`)
    with f16 or bf16 A and B, an f32 C, identity layouts, M and N multiples
    of 64 and K a multiple of 32, and replaces each with one `gpu.launch`.

    The mma.sync kernel: a 64x64 block tile per 128-thread block (2x2 warps
    of 32x32, each 2x4 `m16n8k16` fragments), K tiles of 32 copied
    global->shared with 16-byte `cp.async` into two stages (the copy of
    tile k+1 overlaps the math of tile k), `ldmatrix` (`.trans` for B,
    which is K-major), and `mma.sync` with f32 accumulators that start from
    C. A batch dimension maps to the grid's z; a B without one is shared by
    every batch. f16 uses `nvgpu.mma.sync`; bf16 uses `nvvm.mma.sync`
    directly, because MLIR 22.1's nvgpu cannot deduce bf16 PTX types.

    When N is a multiple of 128 and K of 64, the launch has a 64x128 tile
    per 128-thread block and two bodies, chosen by a call to
    `@kiln_gpu_arch_has_wgmma` (a declaration tagged
    `kiln.gpu_arch_predicate = ["sm_90a"]`, which
    `kiln-gpu-specialize-kernels-per-arch` resolves per arch): on sm_90a
    one warpgroup runs `nvvm.wgmma.mma_async` m64n128k16 on operands that
    `cp.async` stages into two stages of 128-byte-swizzled shared memory
    (one 48 KiB buffer, aligned to 1024 bytes), with
    `fence.proxy.async` before the tensor cores read them; elsewhere the
    mma.sync kernel runs on the two 64x64 halves. Same grid, block and
    parameters for both, so the host code does not depend on the arch.

    Matmuls that do not fit (f32, ragged sizes, strided views) are left to
    `kiln-gpu-map-linalg-to-kernels`. Not done: TMA, more stages (they
    need dynamic shared memory above 48 KiB), smem swizzling for mma.sync.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::vector::VectorDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def ConvertQuantizedLinearsToMmaKernels
    : Pass<"kiln-gpu-convert-quantized-linears-to-mma-kernels",
           "mlir::func::FuncOp"> {
  let summary = "Turn int4/int8 weight-only kiln.qlinear ops on f16/bf16 "
                "activations into mma.sync launches that dequantize weight "
                "tiles in registers";
  let description = [{
    Kiln's quantized linear generator for the CUDA target (sm_80 and
    later). Like the attention generator it runs on tensors, before
    `kiln-decompose-composite-ops` would turn the op into a dequantized
    float copy of the weight and a matmul, and replaces each op it covers
    with a `gpu.launch` on `bufferization.to_buffer`s of its operands and a
    `memref.alloc` for the output.

    The weights are repacked at compile time: codes as unsigned bytes
    `u = q + 2^(bits-1)` (signed) or `u = q` (unsigned), `[N, K]` for int8
    and `[N, K/2]` for int4 (byte j of each 16-code run of a row holds code
    j in its low nibble and code j + 8 in its high one), and per (row,
    group) an f32 pair `(s, o)` with `s = scale * global_scale` and
    `o = -(2^(bits-1) + zero_point) * s` (or `-zero_point * s`), so that
    the weight is `u * s + o`.

    The kernel computes `y[M, N] = x[M, K] @ W^T (+ bias)` with a
    64-column block tile per 128-thread block (grid x over N, y over M),
    K tiles of 64 in two shared-memory stages: the activation tile by
    16-byte `cp.async` (rows past M zero-filled), the weight tile as
    `[n][k]` rows that each thread fills by loading 16 codes, converting
    them (`uitofp`, one multiply-add with `(s, o)`) and storing 8 f16/bf16
    values twice. Fragments are read with `ldmatrix` (B without `.trans`,
    it is `[n][k]`) and multiplied by `mma.sync` m16n8k16 with f32
    accumulators, through the code the matmul generator uses (MmaSync.h).
    The epilogue adds the bias, rounds to the activations' type and writes
    the rows below M. Block tiles: 64x64 (2x2 warps of 32x32) and, for
    decode (`M` at most 16), 16x64 (4 warps of 16x16).

    Covered: f16 or bf16 activations of any rank (leading dimensions are
    flattened into M), constant i4/i8 codes (signed or unsigned, zero points
    or not), block shapes `[bn, bk]` with `gcd(K, bk)` a multiple of 16,
    constant scales of any float type, a constant global scale, a bias of
    any float type, N and K multiples of 64. Left to the reference
    lowering (dequantize + matmul): f32 activations, fp8/fp4 codes,
    run-time weights, other sizes.

    Example:

    ```mlir
    %y = kiln.qlinear %x, %w, %s {block_shape = array<i64: 1, 32>}
        : (tensor<1x128xf16>, tensor<64x128xi4>, tensor<64x4xf32>)
        -> tensor<1x64xf16>
    ```

    becomes a `gpu.launch` with a grid of (1, 1, 1) blocks of 128 threads,
    workgroup buffers `memref<2x16x64xf16>` and `memref<2x64x64xf16>`,
    reading a `tensor<64x64xi8>` of codes and a `tensor<64x4x2xf32>` of
    scales and offsets.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def MapLinalgToKernels
    : Pass<"kiln-gpu-map-linalg-to-kernels", "mlir::ModuleOp"> {
  let summary = "Turn the remaining linalg ops and host memory accesses of "
                "public functions into gpu.launch's";
  let description = [{
    The generic path of the CUDA target. In every public function:

    1. `memref.copy` becomes `linalg.copy`; each linalg op becomes an
       `scf.parallel` over its parallel loops (reductions stay sequential
       `scf.for`s inside), collapsed to one dimension and tiled by
       `block-size` with constant inner bounds and an `scf.if` for the
       remainder; the tile loop maps to block x, the inner loop to
       thread x (so consecutive threads touch the innermost dimension).
       upstream's `convert-parallel-loops-to-gpu` patterns then make the
       `gpu.launch`.
    2. Whatever else touches memory outside a launch (the `scf.for` nests
       of scatters and `moe_experts`, loads, stores) is wrapped whole into
       a one-thread `gpu.launch` (linalg inside becomes sequential loops):
       correct, not fast. Before that, a `memref.load` whose value (and
       the pure ops computing on it) only launches or loops use, a Pad's
       run-time pad value say, is cloned into each use, provided nothing
       between the load and its last use may write what it reads
       (distinct entry arguments, or disjoint constant-offset views of
       the workspace, do not alias): the host cannot read device memory.
       A kernel loop that sits between a one-thread group and a later op
       using the group's values (a scan's count bounding a second scan)
       joins that group and runs sequentially in its thread.
    3. Views with strided layouts and `memref.get_global`s used by a
       launch are cloned into it, so that every memref crossing into a
       kernel has the identity layout that bare-pointer kernel arguments
       need (MLIR 22.1 does not diagnose a mismatch), and constants reach
       the device through `gpu-kernel-outlining`'s symbol copies.

    A value loaded from device memory cannot be used by the host schedule;
    that is reported as an error.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "256",
           "Threads per block of the generic kernels">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def MergeKernelModules
    : Pass<"kiln-gpu-merge-kernel-modules", "mlir::ModuleOp"> {
  let summary = "Move every outlined gpu.module's contents into one "
                "gpu.module @kiln_kernels";
  let description = [{
    `gpu-kernel-outlining` makes one `gpu.module` per kernel; the artifact
    holds one image per architecture with every kernel in it (the runtime
    loads one module per arch). This pass moves the kernels and the symbols
    they use (globals copied by outlining) into `gpu.module @kiln_kernels`,
    renaming on clashes, and retargets the `gpu.launch_func`s.
  }];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def SpecializeKernelsPerArch
    : Pass<"kiln-gpu-specialize-kernels-per-arch", "mlir::ModuleOp"> {
  let summary = "Make one copy of the kernel module per GPU arch, with "
                "the kernels' arch predicates resolved";
  let description = [{
    A kernel whose body depends on the arch (the wgmma matmul, which only
    sm_90a has) calls a predicate: a `() -> i1` declaration tagged
    `kiln.gpu_arch_predicate` with the archs on which it is true. One
    `gpu.module` cannot hold such a kernel for several archs (NVVM verifies
    the wgmma ops against every target of the module, and the NVPTX
    backend cannot select them for sm_80), so this pass, run before the
    targets are attached, keeps `gpu.module @kiln_kernels` for the first
    arch of `archs` and adds a copy `@kiln_kernels_<arch>` for each other
    arch. In each, calls to predicates become constants, `scf.if`s on them
    fold to the arch's body, and the predicates are erased. The workgroup
    buffers of kernels that called a predicate tagged
    `kiln.gpu_workgroup_alignment` get that alignment (`llvm.align`).
    Kernel names are the same in every copy: each arch's image holds every
    kernel, with that arch's body. `nvvm-attach-target{module=...}` then
    attaches one target per copy, and `gpu-module-to-binary` makes one
    `gpu.binary` per arch.

    Example, archs=sm_80,sm_90a: `@kiln_kernels` (sm_80: the mma.sync
    body) and `@kiln_kernels_sm_90a` (the wgmma body).
  }];
  let options = [
    ListOption<"archs", "archs", "std::string",
               "The GPU archs, in --gpu-arch order">,
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect"];
}

def AlignWorkgroupBuffers
    : Pass<"kiln-gpu-align-workgroup-buffers", "mlir::gpu::GPUModuleOp"> {
  let summary = "Give every kernel's workgroup buffers at least a minimum "
                "alignment";
  let description = [{
    A workgroup attribution is emitted `.shared .align N` with N its
    element type's alignment (2 for f16 and bf16), but the kernel
    generators read and write these buffers with `cp.async` of 16 bytes,
    `ldmatrix` (16-byte rows) and 16-byte vector stores, all of which
    need 16-byte aligned addresses. ptxas places the buffers as declared,
    so nothing but the declaration guarantees it. This pass sets
    `llvm.align` on each workgroup attribution of every `gpu.func` in the
    module to `alignment` where it has less (a larger one, such as the
    wgmma stage buffer's 1024, is kept). It costs at most `alignment - 1`
    bytes of shared memory per buffer.

    Example (alignment=16):

    ```mlir
    gpu.func @k() workgroup(%a : memref<64xf16, #gpu.address_space<workgroup>>) kernel
    // becomes
    gpu.func @k() workgroup(%a : memref<64xf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "16",
           "The least alignment (bytes, a power of two) of a workgroup "
           "buffer">,
  ];
}

def ConvertLaunchesToRuntimeCalls
    : Pass<"kiln-gpu-convert-launches-to-runtime-calls", "mlir::ModuleOp"> {
  let summary = "Turn gpu.launch_func's into calls through the runtime's "
                "kiln_gpu_calls table and add the exported entry";
  let description = [{
    Runs on the host module in the LLVM dialect, after
    `gpu-to-llvm{use-bare-pointers-for-kernels=1}` (whose launch operands
    are exactly the kernels' PTX parameters). Kernels are numbered in the
    order of their first launch; the numbering is recorded as
    `kiln.gpu_kernels` (an array of kernel names) on the module. The model
    function gets two trailing `!llvm.ptr` arguments, the call table and
    the runtime's context, and returns `i32`. Each launch becomes

    ```
    params[i] = &arg_i
    status = calls->launch(ctx, index, gx, gy, gz, bx, by, bz, smem, params)
    if (status != 0) return status
    ```

    and the exported wrapper (`entry-symbol`, default `kiln_entry`) is

    ```c
    int32_t kiln_entry(void **buffers, void *workspace,
                       const kiln_gpu_calls *calls, void *ctx);
    ```

    which calls the model with `buffers[0..n)`, the workspace, `calls`
    and `ctx`. `kiln_gpu_calls` is `{u32 abi_version; launch; memcpy_d2d;
    memset_d8}`. `gpu.binary` ops are left for the target, which copies
    their objects into the artifact and erases them.
  }];
  let options = [
    Option<"entryName", "entry", "std::string", "\"main\"",
           "The model function">,
    Option<"entrySymbol", "entry-symbol", "std::string", "\"kiln_entry\"",
           "The exported wrapper's name">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

#endif // KILN_PASSES_GPU_PASSES_TD
