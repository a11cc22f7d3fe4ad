//===- Passes.td - Kiln CPU passes -------------------------*- tablegen -*-===//
//
// Fix-ups the CPU code generation needs on its way to LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_PASSES_TD
#define KILN_PASSES_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertStridedCopiesToLinalg : Pass<"kiln-convert-strided-copies-to-linalg"> {
  let summary = "Rewrite memref.copy of non-contiguous buffers as linalg.copy";
  let description = [{
    The LLVM lowering turns a `memref.copy` between contiguous buffers into
    `llvm.memcpy`, but one between strided views (a concat along an inner
    axis, an output that is a slice of an input) into a call to the MLIR
    runner library's `memrefCopy`, which a self-contained artifact does not
    have. This pass rewrites those copies as `linalg.copy`, which becomes
    plain loops.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def ExpandSmallFloats : Pass<"kiln-expand-small-floats"> {
  let summary = "Implement fp8/fp4 conversions and arithmetic with integers and f32";
  let description = [{
    LLVM has no fp8 or fp4 types; the LLVM lowering stores them as integers
    of their width. This pass rewrites every scalar `arith` op that reads or
    produces `f8E4M3FN`, `f8E4M3FNUZ`, `f8E5M2`, `f8E5M2FNUZ`, `f8E8M0FNU`
    or `f4E2M1FN`: `extf` decodes the bit pattern exactly into f32, `truncf`
    encodes an f32 with round-to-nearest-even and saturation (values beyond
    the largest finite one, and infinities, become it; NaN stays NaN, and
    becomes code 0x8 in fp4, which has no NaN, as in ONNX), constants become integer bit
    patterns, and any other op runs on f32 values. Rounding to `f8E8M0FNU`
    gives the power of two at or above the magnitude, saturating at 2^127
    (ONNX Cast's default round_mode "up"; NaN and infinities become its
    NaN). Run it on scalar code (after bufferization).

    Example:

    ```mlir
    %y = arith.extf %x : f8E4M3FN to f32
    // becomes integer operations on
    %b = arith.bitcast %x : f8E4M3FN to i8
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect"];
}

def PackMatmulWeights : Pass<"kiln-cpu-pack-matmul-weights", "mlir::func::FuncOp"> {
  let summary = "Store constant matmul weights as column panels the micro-kernel streams";
  let description = [{
    A row-major weight `W[K, N]` read a few columns at a time touches one
    cache line per row, 4 KiB or more apart: every panel of a product walks
    K pages, and the prefetchers and the TLB give up. This pass rewrites a
    2-D contraction whose right-hand operand is a constant (after
    `kiln-outline-weights` it becomes a weight of the artifact) so that the
    constant is stored as panels `Wp[N / P, K, P]`, `P` = `panel-width`
    columns each, computed at compile time: the micro-kernel then reads
    each panel front to back. Weights stored transposed (`W[N, K]`, as
    PyTorch's `Linear` and ONNX's `Gemm transB=1` hold them) are packed
    the same way, so both layouts end up in the fast form. A constant
    that reaches a contraction through a 2-D `linalg.transpose` (Gemm's
    `transB`, `kiln.linear`'s weight) is transposed here, at compile time,
    first: packed when N fits, read as a plain constant otherwise, never
    transposed on every run. Contractions
    whose N is not a multiple of `P`, whose constant has other users or
    whose element types differ are left alone.

    Example (P = 16):

    ```mlir
    %w = arith.constant dense<...> : tensor<64x32xf32>
    %y = linalg.generic {(m, k, n): (m, k), (k, n) -> (m, n)} ins(%x, %w)
    // becomes
    %wp = arith.constant dense<...> : tensor<2x64x16xf32>
    %y3 = linalg.generic {(m, nb, k, ni): (m, k), (nb, k, ni) -> (m, nb, ni)}
            ins(%x, %wp) outs(tensor.expand_shape %init)
    %y = tensor.collapse_shape %y3 [[0], [1, 2]]
    ```
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"16",
           "Columns per panel: one vector register of the element type">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertMoEExpertsToGroupedMatmuls : Pass<"kiln-cpu-convert-moe-experts-to-grouped-matmuls", "mlir::func::FuncOp"> {
  let summary = "Run each expert's routed tokens through it as matrix products";
  let description = [{
    Rewrites `kiln.moe_experts` whose weights are constants (F and H
    multiples of `panel-width`) before the Kiln-to-linalg lowering: the
    weights are packed into column panels at compile time, and for each
    expert the (token, choice) pairs routed to it are collected, then run
    through its FFN `rows` tokens at a time as matrix products (the form
    `kiln-cpu-vectorize-contractions` blocks, vectorizes and threads),
    each output row added into its token's row with the routing weight.
    Experts that receive no token cost one scan of the routing table. The
    token count may be known only at run time (symbolic sizes): the result
    and the list of routed slots are then sized at run time, the blocks
    stay static. The reference lowering (one matrix-vector product per assignment, each
    streaming the expert's whole weights) stays for everything else.

    Example: for 128 tokens, top-2 of 8 experts, each expert's ~32 tokens
    run as 4 blocks of 8 rows through [8, H] x [H, F] products instead of
    32 separate matrix-vector products over the same weights.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"8",
           "Tokens per block (rows of the register block)">,
    Option<"panelWidth", "panel-width", "int64_t", /*default=*/"16",
           "Columns per weight panel: one vector register of the element type">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertConvsToMatmuls : Pass<"kiln-cpu-convert-convs-to-matmuls", "mlir::func::FuncOp"> {
  let summary = "Run regular float convolutions as im2col and one packed matrix product";
  let description = [{
    Rewrites each ungrouped f32 `kiln.conv` with static shapes before the
    Kiln-to-linalg lowering: a `linalg.generic` copies every output
    position's window of the zero-padded input into one row (im2col,
    `[N * prod(O), C * prod(K)]`, columns in the weight's `(c, k...)`
    order), a `kiln.matmul` multiplies the rows by the weight laid out as
    `[C * prod(K), M]` (at compile time when it is a constant, so that
    `kiln-cpu-pack-matmul-weights` stores it as panels and
    `kiln-cpu-vectorize-contractions` runs the product as register
    blocks, bias included), and a reshape and a transpose put the result
    back in `[N, M, O...]` order. Grouped and depthwise convs, integer and
    16-bit float convs (whose reference accumulates in f32 and rounds once)
    and symbolic shapes keep the reference lowering (one window loop).

    Example: a 3x3 conv of `tensor<1x64x16x16xf32>` with 64 filters becomes
    a `tensor<256x576xf32>` copy and a `[256, 576] x [576, 64]` product.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertDepthwiseConvsToLinalg : Pass<"kiln-cpu-convert-depthwise-convs-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower depthwise float convolutions with the output rows innermost";
  let description = [{
    Rewrites each f32 `kiln.conv` with one input channel per group
    (depthwise; static shapes; 16-bit floats keep the reference, which
    accumulates in f32) before the Kiln-to-linalg lowering into a
    `linalg.generic` over the zero-padded input whose loops run
    `(n, filter, kernel..., out...)`: the kernel loops sit outside the
    output loops, so the innermost loop walks one output row (contiguous
    stores, loads contiguous at stride 1) and LLVM vectorizes it, while
    each filter's output plane stays in cache across the kernel's passes.
    The reference lowering keeps the kernel loops innermost, a 3- or
    5-step reduction that does not vectorize.

    Example: MobileNet's 3x3 depthwise conv of `tensor<1x96x14x14xf32>`
    becomes 96 planes, each 9 passes of a 14-wide vectorized row loop.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertQuantizedLinearsToVectorKernels
    : Pass<"kiln-cpu-convert-quantized-linears-to-vector-kernels", "mlir::func::FuncOp"> {
  let summary = "Run int4/int8/fp8/fp4 kiln.qlinear as vector loops that dequantize in registers";
  let description = [{
    Runs on Kiln ops, before the reference lowering to linalg. Each
    `kiln.qlinear` with constant int4 or int8 codes (signed or unsigned,
    with or without constant zero points) or e4m3fn / e2m1 codes
    (fp8-block, fp8 per tensor, MXFP4, NVFP4), constant scales of any
    float type, an optional constant global scale, a block shape [bn, bk]
    with gcd(K, bk) even (the kernel's group along K), f32 activations
    and N a multiple of 32 is replaced by loops over compile-time packed
    panels of 32 output columns: the codes stay 4 or 8 bits in memory
    ([N/32][K][16] bytes for int4/fp4, two columns a byte; [N/32][K][32]
    for int8/fp8) and are turned into two `vector<16xf32>` per K step
    with shifts and a conversion (integers) or with masks, shifts and a
    bitcast that put the code's fields where an f32 keeps them (fp8/fp4,
    exact for subnormal codes; the missing 2^120 or 2^126, the global
    scale and the scale's conversion to f32 are folded into the per-group
    f32 scales at compile time), multiplied by the broadcast
    activation into per-group partial sums, which are scaled once per
    group. `rows` activation rows share each decoded step. With `parallel`,
    products of at least 2^21 multiply-adds spread the panels over threads
    (`scf.forall`). Other `kiln.qlinear` ops are left to the reference
    lowering.

    Example: a decode step `kiln.qlinear %x, %w, %s {block_shape =
    array<i64: 1, 32>} : (tensor<1x4096xf32>, tensor<4096x4096xi4>,
    tensor<4096x128xf32>) -> tensor<1x4096xf32>` becomes an `scf.forall`
    over 128 panels, each an `scf.for` over 128 groups around an
    `scf.for` over the group's 32 K steps that reads 16 bytes of codes
    per step from an 8 MiB `tensor<128x4096x16xi8>` constant.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Activation rows per register block">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Distribute the column panels over threads (scf.forall)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def ConvertIntegerMatmulsToVectorKernels
    : Pass<"kiln-cpu-convert-integer-matmuls-to-vector-kernels", "mlir::ModuleOp"> {
  let summary = "Run i32 products of 8-bit activations and constant weights as int8 dot-product kernels (vpdpbusd)";
  let description = [{
    Runs on Kiln ops, before the reference lowering to linalg. Matches the
    integer products ONNX's MatMulInteger, QLinearMatMul and
    DynamicQuantizeLinear + MatMulInteger import to: a `kiln.matmul` on
    i32 whose left operand is 8-bit activations widened by `kiln.cast`
    (signed or unsigned), minus an optional zero point (per tensor, or per
    row of a 2-D operand, computed at run time or not), and whose right
    operand is a constant `[K, N]` matrix, possibly widened from 8 bits
    and minus constant zero points (per tensor or per column). Everything
    about the weights is done at compile time: each column is shifted by
    an offset `c[n]` into int8 (0 when it already fits, which needs a
    column's values to span at most 256), stored in the VNNI layout (per
    panel of 16 x `vectors` columns, groups of 4 consecutive k values in
    each 32-bit lane, `[N/P][ceil(K/4)][P * 4]` bytes, zero-padded), and
    its column sums are kept for the epilogue. With unsigned activations
    `u` and signed weights `v` (signed activations become `x + 128` by
    flipping their top bit),

      y[m, n] = sum_k u[m, k] v[k, n] + c[n] rowsum(u)[m]
                - (a_zp[m] + 128 signed) colsum(w)[n]

    The kernel: an `scf.forall` over panels (products of at least 2^21
    multiply-adds; otherwise `scf.for`), blocks of `rows` rows, and for
    each group of 4 k values one 4-byte broadcast of each row's
    activations and one `vpdpbusd` per row and vector
    (a `func.call` of `llvm.x86.avx512.vpdpbusd.512`, declared in the
    module: LLVM reads a function of that name as the intrinsic, and a call
    passes the buffer deallocation pipeline, which `llvm.call_intrinsic`,
    having unknown memory effects, does not),
    accumulating exactly in i32 (wrapping like the reference). K not a
    multiple of 4 reads its last group bounded; N not a multiple of the
    panel is computed padded and sliced. The row sums (only when some
    `c[n]` is not 0) are computed once per call.

    `dot-product` chooses the instruction: `vnni` emits `vpdpbusd`,
    `generic` the same kernel with the dot products of 4 bytes written as
    byte shuffles, extensions, multiplies and adds (any CPU), `none`
    converts nothing, and `target` (the default) takes `vnni` when the
    module's `kiln.cpu_features` lists `avx512vnni`, `generic` otherwise
    for products of at least `rows` rows (on fewer, the reference loop,
    vectorized by LLVM, is faster than the generic kernel).
    Products it does not match keep the reference lowering.

    Example: `DynamicQuantizeLinear` + `MatMulInteger` with a uint8
    `[4096, 4096]` initializer and zero point becomes a loop over 64
    panels of 64 columns reading 256 bytes of a 16 MiB
    `tensor<64x1024x256xi8>` constant per 4 k values, plus 4096 i32
    column sums and offsets.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"4",
           "Activation rows per register block">,
    Option<"vectors", "vectors", "int64_t", /*default=*/"4",
           "Vectors of 16 columns per panel (at most as many as N needs)">,
    Option<"dotProduct", "dot-product", "std::string", /*default=*/"\"target\"",
           "target, vnni, generic or none">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Distribute the column panels over threads (scf.forall)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def ConvertAttentionToTiledLoops : Pass<"kiln-cpu-convert-attention-to-tiled-loops", "mlir::func::FuncOp"> {
  let summary = "Compute kiln.attention block by block with an online softmax, skipping masked-out key blocks";
  let description = [{
    Rewrites `kiln.attention` (f32; mask kind `none`, `causal`,
    `sliding_window`, `hierarchical` with `num_global_tokens`, or
    `block_sparse` whose cells hold whole blocks; optional KV cache,
    `kv_seqlen`, GQA/MQA and softcap; no `mask` operand and no `scores`
    result) into one loop nest on tensors
    that never builds the `[S, L]` scores: an `scf.forall` over (batch, KV
    head, block of `query-block` query rows), and inside it an `scf.for`
    over only the blocks of `key-block` keys that the mask kind and
    `kv_seqlen` allow (the causal bound and the window's edges computed
    from the block's positions). Each key block's scores are computed as
    vectors over the query rows (broadcast-FMAs over the head dimension),
    masked only when the block crosses an edge of the allowed region, and
    folded into a running max, sum and output (online softmax); the output
    is divided by the sum once at the end, and rows with no allowed key
    are zeros. When all the query heads of a KV head times the queries fit
    in one block (decoding), they share it, so K and V are read once per
    group. Hierarchical attention visits the global keys' blocks and then
    the window's (a block with a global query, all keys up to the right
    bound); block-sparse attention visits the allowed key blocks of its
    layout row, from a table built at compile time. `present_key`/
    `present_value` are the concatenations of the cache and the new keys,
    as in the reference lowering. Everything else (global tokens given as
    positions, block-sparse cells that do not hold whole 32 x 8 blocks,
    mask tensors, the `scores` result, 16-bit floats) is left to
    `kiln-decompose-composite-ops`.
    Small problems (under 2^21 multiply-adds) run on one thread.

    The defaults (32 query rows, 8 keys) suit 512-bit vectors: a block's
    scores are 8 x 2 registers, and each key element loaded feeds two FMAs.
    The key block is unrolled; the sweeps over the head and value features
    are loops (4 features per iteration) over two per-block buffers, the
    transposed queries and the output accumulators, so the code does not
    grow with the head size.
    A decoding block has as many lanes as rows (rounded up to a power of
    two): the FMA count per key does not depend on the vector length.

    Example (causal, 2048 queries, 8 heads of 64):

    ```mlir
    %o, %k2, %v2 = kiln.attention %q, %k, %v {scale = 0.125 : f32,
        mask_kind = #kiln.mask_kind<causal>} : ...
    // becomes
    %o4 = scf.forall (%blk) in (512) shared_outs(%out = %empty) {
      // Qt: tensor<64x32xf32>, one column of Q per feature (scf.for)
      // acc: tensor<64x32xf32> of zeros; first/end key blocks from the
      // positions
      %r:3 = scf.for %kb = %first to %end step %c1
          iter_args(%m = %ninf, %l = %zero, %acc = %zeros) {
        // scf.for over 64 features, 4 per iteration: a row of Qt, then
        // 8 x (tensor.extract K block, vector.broadcast, vector.fma)
        // scf.if (block crosses the diagonal): arith.select -inf
        // maxnumf, math.exp (as a polynomial)
        // scf.for over the 64 value features: a row of acc rescaled,
        // 8 vector.fma with V, written back
      }
      // divide by the sum, each feature written as a column of the rows
    }
    ```
  }];
  let options = [
    Option<"queryBlock", "query-block", "int64_t", /*default=*/"32",
           "Query rows per block: the length of the vectors">,
    Option<"keyBlock", "key-block", "int64_t", /*default=*/"8",
           "Keys per block: the block's scores stay in registers">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def VectorizeContractions : Pass<"kiln-cpu-vectorize-contractions", "mlir::func::FuncOp"> {
  let summary = "Tile matmul-like linalg ops to register blocks and vectorize them";
  let description = [{
    Runs on linalg on tensors, before bufferization. Every contraction
    (`linalg.generic` with a multiply-accumulate body, batched or not,
    packed by `kiln-cpu-pack-matmul-weights` or not) whose innermost output
    dimension is an N dimension that is also innermost in the right-hand
    operand is tiled with `scf.for` into register blocks of
    `rows` x `vector-width` (x 2 panels when the operand is packed) over a
    K step of up to `k-unroll`, vectorized to `vector.contract`, and its
    accumulator hoisted out of the K loop, so that the block stays in
    registers for the whole reduction. The LLVM lowering later turns each
    contraction into broadcast FMAs (outer products). Dimensions that the
    block sizes do not divide are split off first, so every block is
    static. A row dimension known only at run time (the tokens of a model
    with symbolic sizes; its only dynamic loop) becomes an `scf.for` over
    blocks of `rows` rows and a one-row tail loop, each iteration a static
    slice of the contraction blocked as above. With `parallel`, the column blocks and batches of a
    contraction of at least 2^21 multiply-adds are an `scf.forall`, which
    the codegen pipeline turns into an OpenMP parallel loop. Other ops are
    left to the loop lowering.

    With `epilogues` (off by default, and so in the CPU pipeline: on a
    16x4096x4096 linear + bias + residual it measured 10-15% more CPU time
    than the separate loop, not yet understood), an elementwise `linalg.generic` (arith and math ops
    only) that reads the result of one such contraction, each element
    once, is the block's epilogue: bias adds, activations, residual adds,
    scaling. The consumer is tiled into the contraction's blocks and the
    contraction (and the fill of its accumulator) is fused into its tiles with upstream's
    `scf::tileConsumerAndFuseProducersUsingSCF`; each fused block runs its
    whole K loop before the epilogue reads the accumulator, and only the
    epilogue's result is stored. A packed contraction's consumer is first
    expanded through the `[M, N]` collapse (upstream reshape propagation),
    slices of it moved above the collapse. A contraction whose result has
    other users keeps its own store, and so do two products that meet in
    one consumer (SwiGLU's gate and up: their two accumulator blocks would
    not fit the registers together).

    The block's rows follow the target CPU unless `rows` is given: 8 (16
    accumulators of 16 lanes, half of AVX-512's 32 registers), or 3 when
    the module's `kiln.cpu_features` is recorded without `avx512f` (each
    16-lane vector is two of AVX2's 16 ymm registers: 12 accumulators).

    Example: a 16x64 by 64x32 f32 matmul becomes `scf.for` over N panels and
    row blocks, and an inner `scf.for` over K carrying a
    `vector<8x16xf32>` accumulator into `vector.contract`.
  }];
  let options = [
    Option<"rows", "rows", "int64_t", /*default=*/"0",
           "Output rows per register block (0: by the target CPU, 8 unless "
           "the module's kiln.cpu_features is recorded without avx512f, "
           "then 3: AVX2's 16 vector registers)">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "Output columns per vector (elements of one vector register)">,
    Option<"kUnroll", "k-unroll", "int64_t", /*default=*/"4",
           "Reduction steps per inner-loop iteration">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Distribute column blocks and batches over threads (scf.forall)">,
    Option<"epilogues", "epilogues", "bool", /*default=*/"false",
           "Apply elementwise consumers of contractions to the accumulator "
           "block before its store (off by default: measured slower, see "
           "docs/benchmarks.md)">
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::vector::VectorDialect"];
}

def MarkKernelsForProfiling : Pass<"kiln-cpu-mark-kernels-for-profiling", "mlir::ModuleOp"> {
  let summary = "Number the entry's loop nests as kernels, list their provenance, call the profiler hook around each";
  let description = [{
    Each top-level op of a public function's body that does work (a loop
    nest: `scf.for`, `scf.parallel`, `scf.forall`, `scf.while`, any other
    op with regions, `memref.copy`, a `func.call`) is a kernel. Kernel k
    gets `func.call @kiln_profile(k, 0)` before it and
    `func.call @kiln_profile(k, 1)` after it (i32 arguments); host code
    generation sends these through the artifact's exported
    `kiln_profiler` pointer, a load and a branch when nobody profiles. The
    module attribute `kiln.kernels` lists, per kernel in id order, its
    `name`, its op `kinds` (the `kiln.*` kinds that
    `kiln-record-op-kinds-in-locations` left in the locations of the ops
    it is made of), the ONNX `nodes` named there and its `loop_nest` in
    one line (the loops from the kernel inward while each holds one loop,
    with constant trip counts: `scf.parallel 4x16 / scf.for 64`); the
    artifact writer stores it as the KERNELS and KERNEL_DETAILS sections.
    When the function has a `kiln.workspace` argument
    (`kiln-plan-workspace`), the module attribute `kiln.memory_plan` lists
    each of its views with its nodes, type, offset, bytes and the `first`
    and `last` kernel that use it or an alias, and `peak_bytes`, the most
    buffer bytes live during one kernel (the MEMORY_PLAN section). Runs on
    loops, after `scf-forall-to-parallel` and before the OpenMP lowering.

    Example:

    ```mlir
    scf.for %i = %c0 to %c8 step %c1 { ... } loc(fused<"kiln.add">["add_0"])
    // becomes
    func.call @kiln_profile(%c0_i32, %c0_i32) : (i32, i32) -> ()
    scf.for %i = %c0 to %c8 step %c1 { ... }
    func.call @kiln_profile(%c0_i32, %c1_i32) : (i32, i32) -> ()
    // and the module's kiln.kernels holds one dictionary for it:
    //   name = "add", kinds = ["kiln.add"], nodes = ["add_0"],
    //   loop_nest = "scf.for 8"
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect"];
}

#endif // KILN_PASSES_CPU_PASSES_TD
