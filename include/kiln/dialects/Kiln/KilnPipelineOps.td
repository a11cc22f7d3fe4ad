//===- KilnPipelineOps.td - Point to point between ranks ---*- tablegen -*-===//
//
// Where the programs of a pipeline-parallel model meet: one rank sends a
// tensor, another receives it. Like the collectives of KilnParallelOps.td
// they communicate, so nothing removes or reorders them. Generated into
// their own KilnPipelineOps.h.inc (kiln/dialects/Kiln/KilnPipelineOps.h),
// included only where they are made or lowered.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PIPELINE_OPS_TD
#define KILN_PIPELINE_OPS_TD

include "kiln/dialects/Kiln/KilnDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// What moves between pipeline stages: any whole-byte element type the
// runtime's send and recv carry.
def Kiln_MovableTensor : RankedTensorOf<[F16, BF16, F32, F64, I8, I32, I64]>;

def Kiln_SendOp : Kiln_Op<"send", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "send one tensor to another rank (a pipeline stage boundary)";
  let description = [{
    Sends `input` to rank `peer` of the `ranks` ranks of the plan, where
    a `kiln.recv` of the same type from this rank receives it. Sends and
    receives between two ranks match in program order. Pipeline
    parallelism (`kiln-partition-pipeline`) sends the activations that
    cross a stage boundary to the next stage, and the last stage's outputs
    to rank 0.

    The op communicates, so it is not `Pure`: nothing removes or reorders
    it. `kiln-convert-collectives-to-runtime-calls` turns it into a call of
    the runtime's collective table (kiln/collectives.h). The shape must be
    static: the receiver allocates its buffer from the type alone.

    Example (the end of stage 0 of 2):

    ```mlir
    kiln.send %h {peer = 1 : i64, ranks = 2 : i64} : tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Kiln_MovableTensor:$input, I64Attr:$peer,
                       I64Attr:$ranks);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Kiln_RecvOp : Kiln_Op<"recv", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "receive one tensor from another rank (a pipeline stage "
                "boundary)";
  let description = [{
    Receives the tensor that rank `peer` of the `ranks` ranks of the plan
    sends to this rank with a `kiln.send` of the same type; sends and
    receives between two ranks match in program order. The result type
    must be static (it sizes the receive buffer).

    The op communicates, so it is not `Pure`, even though it has no
    operands: it stays where the partitioning put it.

    Example (the start of stage 1 of 2):

    ```mlir
    %h = kiln.recv {peer = 0 : i64, ranks = 2 : i64} : tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins I64Attr:$peer, I64Attr:$ranks);
  let results = (outs Kiln_MovableTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // KILN_PIPELINE_OPS_TD
