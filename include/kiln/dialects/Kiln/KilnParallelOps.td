//===- KilnParallelOps.td - Collectives between ranks -------*- tablegen -*-===//
//
// What a partitioned model (passes/Planning) exchanges between the ranks of
// its plan. Each rank runs its own program; these ops are where the
// programs meet. They have side effects (they communicate), so nothing
// removes, duplicates or reorders them: every rank must call the same
// collectives in the same order. Included from KilnOps.td.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PARALLEL_OPS_TD
#define KILN_PARALLEL_OPS_TD

def Kiln_AllReduceOp : Kiln_Op<"all_reduce",
    [Kiln_ReifiesShapes, SameOperandsAndResultType,
     MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "elementwise sum of one tensor over every rank";
  let description = [{
    Every one of the `ranks` ranks of the plan passes a tensor of the same
    type; each gets back their elementwise sum. `ranks` is the number of
    ranks of the artifact (the MPI world), at least 2; only the sum is
    defined (the combine of expert and tensor parallelism).

    With `group` (set by the partitioning passes of a plan that combines
    splits, e.g. `tp=2,ep=2`), the sum runs over one group of ranks
    instead: the index of an entry of the module's
    `kiln.collective_groups`, which gives this rank's colour for each
    group, and the runtime splits the world by those colours at load.

    The op communicates, so it is not `Pure`: it stays where the
    partitioning put it, in the same order on every rank.
    `kiln-convert-collectives-to-runtime-calls` turns it into a call of the
    runtime's collective table (kiln/collectives.h), in place on a copy.

    Example (expert parallelism on 2 ranks: each rank's partial sum over
    its own experts, then the sum over both):

    ```mlir
    %partial = kiln.moe_experts %x, %local_experts, %w, %gate, %down up %up
        {activation = #kiln.expert_activation<swiglu>} : ...
    %y = kiln.all_reduce %partial {ranks = 2 : i64}
        : (tensor<16x64xf32>) -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins RankedTensorOf<[F32, F64, I32, I64]>:$input,
                       I64Attr:$ranks,
                       OptionalAttr<I64Attr>:$group);
  let results = (outs RankedTensorOf<[F32, F64, I32, I64]>:$result);
  let assemblyFormat =
      "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition =
      Kiln_ReifyWith<"reifyAsOperand(*this, b, shapes)">.definition;
  let hasVerifier = 1;
}

#endif // KILN_PARALLEL_OPS_TD
