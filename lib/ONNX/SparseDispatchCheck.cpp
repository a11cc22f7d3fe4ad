//===- SparseDispatchCheck.cpp - Check a rewritten sparse MoE dispatch ----===//

#include "SparseDispatchCheck.h"

#include "NodeContext.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;
using kiln::raising::SparseDispatchCheck;

/// The sparse dispatch was rewritten to the dense form on the structure
/// alone; it is the same computation only when the tokens, the router and
/// the accumulator agree on the number of tokens (no broadcasting of a
/// size-1 dimension) and the top-k ranges over exactly the one-hot's
/// experts. Otherwise the model is rejected: the graph was rewritten
/// already, so the sparse form cannot be imported instead.
LogicalResult
kiln::onnx_import::checkSparseDispatch(const SparseDispatchCheck &c,
                                       const llvm::StringMap<Value> &values,
                                       Location fileLoc) {
  MLIRContext &ctx = *fileLoc.getContext();
  auto shapeOf = [&](StringRef name) -> std::optional<RankedTensorType> {
    Value v = values.lookup(name);
    if (!v)
      return std::nullopt;
    return cast<RankedTensorType>(v.getType());
  };
  int64_t t = c.accRows;
  Type acc = elementTypeFor(&ctx, c.accType);
  auto tokens = shapeOf(c.tokens), indices = shapeOf(c.indices),
       scores = shapeOf(c.scores), weights = shapeOf(c.weights),
       product = shapeOf(c.product);
  std::optional<RankedTensorType> like;
  if (!c.expandLike.empty())
    like = shapeOf(c.expandLike);
  std::string why;
  if (!tokens || tokens->getShape() != ArrayRef<int64_t>{t, c.hidden})
    why = "the gathered tokens are not [" + std::to_string(t) + ", " +
          std::to_string(c.hidden) + "]";
  else if (!indices || indices->getRank() != 2 || indices->getDimSize(0) != t)
    why = "the top-k indices are not [" + std::to_string(t) + ", k]";
  else if (!scores || scores->getShape() != ArrayRef<int64_t>{t, c.experts})
    why = "the top-k does not choose among " + std::to_string(c.experts) +
          " experts for " + std::to_string(t) + " tokens";
  else if (!weights || weights->getShape() != indices->getShape() ||
           weights->getElementType() != acc)
    why = "the routing weights are not of the top-k indices' shape and the "
          "accumulator's type";
  else if (!product || product->getShape() != ArrayRef<int64_t>{t, c.accCols} ||
           product->getElementType() != acc)
    why = "the expert's weighted output is not of the accumulator's shape";
  else if (!c.expandLike.empty() &&
           (!like || like->getRank() != 2 || like->getDimSize(0) < 1 ||
            like->getDimSize(1) != c.accCols))
    why = "the scatter is expanded to a shape other than a row";
  if (why.empty())
    return success();
  return emitError(NameLoc::get(StringAttr::get(&ctx, c.nonZero), fileLoc))
         << "node '" << c.nonZero
         << "' (NonZero): Hugging Face's sparse MoE dispatch was recognized "
            "but "
         << why
         << ", so its dense form would change the answer (export the MoE "
            "in dense form)";
}
