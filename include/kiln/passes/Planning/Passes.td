//===- Passes.td - Kiln Planning passes --------------------*- tablegen -*-===//
//
// A raised model partitioned for one rank of a parallel plan, and its collectives as runtime calls.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_PLANNING_PASSES_TD
#define KILN_PASSES_PLANNING_PASSES_TD

include "mlir/Pass/PassBase.td"

def PartitionExperts : Pass<"kiln-partition-experts", "mlir::func::FuncOp"> {
  let summary = "Keep one rank's share of every MoE layer's experts and "
                "sum the ranks' partial results (expert parallelism)";
  let description = [{
    Expert parallelism over `ranks` ranks, written for rank `rank`: every
    `kiln.moe_experts` with `E` experts (`E` divisible by `ranks`) keeps
    the contiguous block of `E / ranks` experts
    `[rank * E / ranks, (rank + 1) * E / ranks)`. Its weights (and biases)
    become constants of that block only, so no rank stores the others'
    experts; the routing (`kiln.moe_route`, computed on every rank from the
    same tokens) is kept whole, and each assignment to an expert of another
    rank becomes a dropped one (expert `-1`, which `kiln.moe_experts`
    skips). The rank's result is then its experts' share of each token's
    weighted sum, and `kiln.all_reduce` adds the shares of all ranks: the
    sum over all `k` chosen experts, as on one device.

    Combine by all-reduce rather than dispatch and combine by all-to-all:
    with tensor parallelism absent every rank already holds every token (the
    attention and the router are replicated), so there is nothing to
    dispatch; one all-reduce of `[T, H]` per layer replaces two all-to-alls
    of `[T * k / ranks, H]` and needs no token permutation.

    An expert weight that is not a constant (a function argument) is
    sliced with `tensor.extract_slice`. A layer whose expert count `ranks`
    does not divide is an error naming it. With `ranks = 1` the pass
    changes nothing.

    Example (`rank = 1`, `ranks = 2`, 4 experts):

    ```mlir
    // before
    %y = kiln.moe_experts %x, %e, %w, %gate, %down up %up {...}
        : (..., tensor<4x96x64xf32>, ...) -> tensor<16x64xf32>
    // after: %gate1 holds experts 2 and 3; %e1 maps 2 -> 0, 3 -> 1, else -1
    %p = kiln.moe_experts %x, %e1, %w, %gate1, %down1 up %up1 {...}
        : (..., tensor<2x96x64xf32>, ...) -> tensor<16x64xf32>
    %y = kiln.all_reduce %p {ranks = 2 : i64}
        : (tensor<16x64xf32>) -> tensor<16x64xf32>
    ```
  }];
  let options = [
    Option<"rank", "rank", "int64_t", "0",
           "The rank whose program this is, in [0, ranks)">,
    Option<"ranks", "ranks", "int64_t", "1",
           "The number of ranks the experts are spread over">,
    Option<"group", "group", "int64_t", "-1",
           "The collective group its sums run over, an index into the "
           "module's kiln.collective_groups (-1: every rank)">
  ];
  let dependentDialects = ["kiln::KilnDialect", "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def PartitionTensorParallel
    : Pass<"kiln-partition-tensor-parallel", "mlir::func::FuncOp"> {
  let summary = "Keep one rank's attention heads and FFN columns and sum "
                "the ranks' partial results (tensor parallelism)";
  let description = [{
    Megatron-style tensor parallelism over `ranks` ranks, written for rank
    `rank`. Every rank holds every token (the embedding, norms, router and
    LM head are replicated); each block's first projections are split by
    columns and its last by rows, so each rank computes a partial sum of
    the block's output and one `kiln.all_reduce` per block adds them:

    - **Attention**: each `kiln.attention` with `Hq` query heads (`ranks`
      dividing `Hq`) keeps query heads `[rank * Hq / ranks, ...)`: the
      query projection (`kiln.linear` with a constant weight `[N, K]`, or
      `kiln.matmul` with a constant `[K, N]`) keeps those heads' output
      columns, and the reshapes, transposes, casts and RoPE between it and
      the attention get the smaller head count. Key and value heads are
      split the same way when `ranks` divides `Hkv`; when `Hkv` divides
      `ranks` instead (GQA with fewer KV heads than ranks), each rank keeps
      the one KV head its query heads use. The output projection keeps
      the matching input columns (rows of the product), its bias on rank 0
      only, and is followed by the all-reduce.
    - **Routed experts**: each `kiln.moe_experts` keeps columns
      `[rank * F / ranks, ...)` of every expert's intermediate size `F`
      (`w_gate`, `w_up` and their biases by rows, `w_down` by columns; the
      down bias on rank 0 only), then the all-reduce. The routing is
      computed on every rank from the same tokens, so it agrees.
    - **Dense FFNs**: a weighted op (`kiln.linear`, `kiln.matmul`) whose
      input is an elementwise tree (`silu`, `gelu`, `mul`, `add`, ...) over
      weighted ops of one common input is split as an FFN: the tree's
      leaves by columns, the op by rows, then the all-reduce. Other ops
      (the LM head, the router, embeddings) stay whole.

    Where two blocks' sums are added and used nowhere else (a shared
    expert beside the routed ones), the partial results are added first
    and summed by one all-reduce.

    Errors: `ranks` not dividing the heads (or the KV heads and `ranks`
    not dividing one another) or an expert's `F`; a q/k/v chain the
    partitioning cannot follow (a projection that is not a constant
    `kiln.linear` / `kiln.matmul`, a value with other users, a reshape
    that mixes the heads with other dimensions, a dynamic shape); an
    attention with a KV cache, or whose present keys or scores are used;
    partial sums of a type `kiln.all_reduce` does not take. With
    `ranks = 1` the pass changes nothing.

    Example (`rank = 1`, `ranks = 2`, 4 heads of 16):

    ```mlir
    // before
    %q = kiln.linear %x, %wq : (tensor<1x16x64xf32>, tensor<64x64xf32>) -> tensor<1x16x64xf32>
    %q4 = kiln.reshape %q : (tensor<1x16x64xf32>) -> tensor<1x16x4x16xf32>
    ...
    %o = kiln.linear %a, %wo : (tensor<1x16x64xf32>, tensor<64x64xf32>) -> tensor<1x16x64xf32>
    // after: rows 32..63 of %wq (heads 2 and 3), columns 32..63 of %wo
    %q = kiln.linear %x, %wq1 : (tensor<1x16x64xf32>, tensor<32x64xf32>) -> tensor<1x16x32xf32>
    %q4 = kiln.reshape %q : (tensor<1x16x32xf32>) -> tensor<1x16x2x16xf32>
    ...
    %p = kiln.linear %a, %wo1 : (tensor<1x16x32xf32>, tensor<64x32xf32>) -> tensor<1x16x64xf32>
    %o = kiln.all_reduce %p {ranks = 2 : i64} : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let options = [
    Option<"rank", "rank", "int64_t", "0",
           "The rank whose program this is, in [0, ranks)">,
    Option<"ranks", "ranks", "int64_t", "1",
           "The number of ranks the heads and FFNs are split over">,
    Option<"group", "group", "int64_t", "-1",
           "The collective group its sums run over, an index into the "
           "module's kiln.collective_groups (-1: every rank)">
  ];
  let dependentDialects = ["kiln::KilnDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def PartitionPipeline : Pass<"kiln-partition-pipeline", "mlir::ModuleOp"> {
  let summary = "Keep one pipeline stage's contiguous decoder layers and "
                "send the activations between stages (pipeline parallelism)";
  let description = [{
    Pipeline parallelism over `ranks` stages, written for stage `rank`. The
    decoder layers are counted in program order, one per `kiln.attention`
    (as the planner counts them); stage `s` runs `layers[s]` of them
    (`layers` empty: as even a split as possible, earlier stages taking
    the remainder). The entry function is cut between the last layer of
    one stage and the first of the next, at the latest point before the
    next layer's attention where the fewest activations cross: in a
    pre-norm decoder, the residual stream after the previous layer's FFN,
    one tensor.

    Stage `rank` keeps the operations between its two cuts; rank 0 also
    keeps what precedes the first cut (the embedding), the last stage what
    follows the last cut (the final norm and the LM head). What crosses a
    cut becomes a `kiln.send` at the end of one stage and a `kiln.recv` at
    the start of the next. Values computed from the function's arguments
    and constants alone (positions, masks, rotary tables) are not sent:
    every rank has the inputs (kiln-run broadcasts them), so a stage that
    uses one computes it itself. Weights are constants, so each stage
    stores only its own layers' weights.

    The results reach rank 0: each result a later stage computes is sent to
    rank 0 at the end of that stage and received by rank 0 before it
    returns. Every rank's function keeps the signature (the artifact's
    ranks share it); the ranks other than 0 return zeros for the results
    they do not compute.

    Errors: a stage count above the layer count, a `layers` list that does
    not add up to the layers or has a stage without any, and a tensor of
    dynamic shape crossing a cut (the receiver sizes its buffer from the
    type). With `ranks = 1` the pass changes nothing.

    In a plan that combines pipeline and tensor parallelism, each pipeline
    is one rank of every stage: `stage-offset` is the world rank of its
    stage 0, `stage-stride` the world ranks from one stage to the next, and
    `world-ranks` the ranks of the world; the sends and receives name world
    ranks (`stage-offset + s * stage-stride`).

    Example (`rank = 0`, `ranks = 2`, 2 layers):

    ```mlir
    // before
    %h0 = kiln.gather %embedding, %tokens ...
    %h1 = ... layer 0 ...
    %h2 = ... layer 1 (kiln.attention ...) ...
    %logits = kiln.linear %h2n, %lm_head ...
    return %logits
    // after: the embedding and layer 0, then the residual stream to stage 1
    %h0 = kiln.gather %embedding, %tokens ...
    %h1 = ... layer 0 ...
    kiln.send %h1 {peer = 1 : i64, ranks = 2 : i64} : tensor<1x16x64xf32>
    %logits = kiln.recv {peer = 1 : i64, ranks = 2 : i64} : tensor<1x16x128xf32>
    return %logits
    ```
  }];
  let options = [
    Option<"rank", "rank", "int64_t", "0",
           "The stage whose program this is, in [0, ranks)">,
    Option<"ranks", "ranks", "int64_t", "1",
           "The number of pipeline stages (one rank each)">,
    ListOption<"layers", "layers", "int64_t",
               "Decoder layers per stage, in order (default: an even split)">,
    Option<"stageStride", "stage-stride", "int64_t", "1",
           "World ranks between one stage and the next of this pipeline "
           "(the ranks of a tensor-parallel group in a combined plan)">,
    Option<"stageOffset", "stage-offset", "int64_t", "0",
           "The world rank of this pipeline's stage 0">,
    Option<"worldRanks", "world-ranks", "int64_t", "0",
           "The ranks of the world (0: the stages alone)">
  ];
  let dependentDialects = ["kiln::KilnDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect",
                           "mlir::linalg::LinalgDialect"];
}

def PartitionDataParallel
    : Pass<"kiln-partition-data-parallel", "mlir::ModuleOp"> {
  let summary = "Run one replica's slice of the batch and gather the "
                "replicas' outputs (data parallelism)";
  let description = [{
    Data parallelism over `replicas` replicas, written for replica
    `replica`. The entry function (`entry`) was built for `b` sequences
    (axis 0 of every argument and result is `b`, static); afterwards it
    takes and returns `replicas * b` sequences, the model's batch, as every
    rank of the plan shares one signature. The replica keeps rows
    `[replica * b, (replica + 1) * b)` of each argument
    (`tensor.extract_slice`: every rank has the whole batch, which kiln-run
    broadcasts) and runs the body on them.

    Its results are placed at the same rows of zeros of the whole batch's
    shape. With `gather` set, a `kiln.all_reduce` over `group` (the
    replicas' ranks that hold the results: one rank per replica) adds the
    replicas' results: each row is one replica's and zero in the others',
    so the sum is their concatenation, exact in floating point. Without
    `gather` (a rank of the replica other than the one that returns its
    results, in a plan that combines dp with tp, ep or pp) the rank returns
    its rows and zeros; only rank 0's results are written.

    Errors: an argument or result whose axis 0 is dynamic or differs from
    the first argument's, a missing entry function, and with `gather` a
    result whose element type the sum does not take (f32, f64, i32, i64).
    With `replicas = 1` the pass changes nothing.

    Example (`replica = 1`, `replicas = 2`):

    ```mlir
    // before
    func.func @main(%tokens: tensor<2x16xi64>) -> tensor<2x16x128xf32> {
      %logits = ... %tokens ...
      return %logits : tensor<2x16x128xf32>
    }
    // after
    func.func @main(%arg0: tensor<4x16xi64>) -> tensor<4x16x128xf32> {
      %tokens = tensor.extract_slice %arg0[2, 0] [2, 16] [1, 1]
      %logits = ... %tokens ...
      %zero = arith.constant dense<0.0> : tensor<4x16x128xf32>
      %rows = tensor.insert_slice %logits into %zero[2, 0, 0] [2, 16, 128] [1, 1, 1]
      %all = kiln.all_reduce %rows {ranks = 2 : i64}
          : (tensor<4x16x128xf32>) -> tensor<4x16x128xf32>
      return %all : tensor<4x16x128xf32>
    }
    ```
  }];
  let options = [
    Option<"replica", "replica", "int64_t", "0",
           "The replica whose program this is, in [0, replicas)">,
    Option<"replicas", "replicas", "int64_t", "1",
           "The number of replicas the batch is split over">,
    Option<"gather", "gather", "bool", "true",
           "Sum the replicas' results into the whole batch's (on the rank "
           "of each replica that returns them)">,
    Option<"group", "group", "int64_t", "-1",
           "The collective group the gather runs over, an index into the "
           "module's kiln.collective_groups (-1: every rank)">,
    Option<"entryName", "entry", "std::string", /*default=*/"\"main\"",
           "The entry function">
  ];
  let dependentDialects = ["kiln::KilnDialect", "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertCollectivesToRuntimeCalls
    : Pass<"kiln-convert-collectives-to-runtime-calls", "mlir::ModuleOp"> {
  let summary = "Turn Kiln's collectives (all-reduce, send, recv) into "
                "calls of the runtime's collective table";
  let description = [{
    Each `kiln.all_reduce` becomes: a fresh buffer (`memref.alloc`) holding
    a copy of the operand, a call `kiln_collective_all_reduce(ptr, count,
    dtype)` that sums it in place over every rank, and the buffer as the
    result tensor (`bufferization.to_tensor restrict writable`). The pointer
    is the buffer's aligned address as an `i64`, `count` its element count
    and `dtype` the `kiln_dtype` code of its element type, so the call has
    one signature whatever the tensor.

    `kiln.send` copies its operand into a fresh buffer the same way and
    calls `kiln_collective_send(ptr, count, dtype, peer)`; `kiln.recv`
    allocates a fresh buffer of its (static) type, calls
    `kiln_collective_recv(ptr, count, dtype, peer)` to fill it, and the
    buffer is its result.

    A `kiln.all_reduce` with a `group` (a plan that combines splits) sums
    over that group of the ranks: the module's `kiln.collective_groups`
    (this rank's color of each group, in the order every rank lists them)
    become exported globals, `kiln_collective_group_count` and
    `kiln_collective_group_colors`, which the runtime splits the world by
    at load, and `kiln_collective_groups`, the handles it fills in; the
    call is `kiln_collective_group_all_reduce(handle, ptr, count, dtype)`
    with the group's handle loaded from there. A group the module does not
    list is an error.

    The callees are declared here; the host code generator
    (lib/Target/Host/HostCodegen.cpp) sends every call of a
    `kiln_collective_*` function through the table of function pointers
    that the artifact exports as `kiln_collectives` and the runtime fills
    in from its MPI plugin (kiln/collectives.h).

    Example:

    ```mlir
    // before
    %y = kiln.all_reduce %x {ranks = 2 : i64} : (tensor<16x64xf32>) -> tensor<16x64xf32>
    // after
    %m = bufferization.to_buffer %x : tensor<16x64xf32> to memref<16x64xf32, strided<[?, ?], offset: ?>>
    %b = memref.alloc() {alignment = 64 : i64} : memref<16x64xf32>
    memref.copy %m, %b : ...
    %p = memref.extract_aligned_pointer_as_index %b : memref<16x64xf32> -> index
    %pi = arith.index_cast %p : index to i64
    func.call @kiln_collective_all_reduce(%pi, %c1024, %c1) : (i64, i64, i32) -> ()
    %y = bufferization.to_tensor %b restrict writable : memref<16x64xf32> to tensor<16x64xf32>
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::tensor::TensorDialect"];
}

#endif // KILN_PASSES_PLANNING_PASSES_TD
