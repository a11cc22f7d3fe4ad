//===- KilnDialect.td - The Kiln dialect definition -------*- tablegen -*-===//
//
// The dialect, its attributes and the base classes its ops derive from.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Operations that mixture-of-experts transformers are made of";
  let description = [{
    The Kiln dialect describes neural-network graphs on ranked tensors,
    whose dimensions may be dynamic (`?`) where the model leaves them
    symbolic. Its ops keep the semantics that generic dialects lose
    (broadcasting rules, normalization axes, attention mask kinds, MoE
    routing) so that later passes can pick good kernels. Every op has a
    reference lowering to `linalg`/`tensor` used by the CPU target.

    Element types are MLIR builtin types: signless integers carry ONNX's
    signed and unsigned integers alike (ops that depend on signedness say
    so), `i1` is a boolean.
  }];
  // Reifying a dynamic dimension builds tensor.dim and index arithmetic.
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 1;
}

//===----------------------------------------------------------------------===//
// Enums and attributes
//===----------------------------------------------------------------------===//

def Kiln_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "how GELU evaluates the Gaussian CDF", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Tanh", 1, "tanh">
    ]> {
  let cppNamespace = "::kiln";
  let genSpecializedAttr = 0;
}
def Kiln_GeluApproximationAttr
    : EnumAttr<Kiln_Dialect, Kiln_GeluApproximation, "gelu_approximation">;

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

// Kiln computes on floats and signless integers (i1 is bool); other element
// types (index, complex) have no meaning in a model graph.
def Kiln_Tensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;
def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Kiln_BoolTensor : RankedTensorOf<[I1]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64]>;
def Kiln_NumericTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;
// What quantized values are stored as: integers of 2 to 32 bits, fp8
// (e4m3fn, e5m2 and their fnuz forms) and fp4 (e2m1).
def Kiln_QuantStorageTensor
    : RankedTensorOf<[AnySignlessInteger, F8E4M3FN, F8E5M2, F8E4M3FNUZ,
                      F8E5M2FNUZ, F4E2M1FN]>;

//===----------------------------------------------------------------------===//
// Base op class
//===----------------------------------------------------------------------===//

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

// Every Kiln op says how its dynamic (`?`) result dimensions follow from its
// operands (ReifyRankedShapedTypeOpInterface), which the lowering to linalg
// uses to size what it allocates. An op class gives its rule with
// Kiln_ReifyWith below; other ops define reifyResultShapes in
// dialects/Kiln/KilnShapes.cpp, from the shared rules of KilnShapes.h.
def Kiln_ReifiesShapes
    : DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface,
                                ["reifyResultShapes"]>;

// The definition of reifyResultShapes for an op class: `call` is a call of
// a rule of KilnShapes.h with the arguments that follow the op and the
// builder (for instance "reifyAsOperand(*this, b, shapes)").
class Kiln_ReifyWith<string call> {
  code definition = [{
    ::llvm::LogicalResult $cppClass::reifyResultShapes(
        ::mlir::OpBuilder &b, ::mlir::ReifiedRankedShapedTypeDims &shapes) {
      return ::kiln::}] # call # [{;
    }
  }];
}

#endif // KILN_DIALECT_TD
