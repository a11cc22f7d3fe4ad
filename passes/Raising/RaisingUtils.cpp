//===- RaisingUtils.cpp - Helpers of the raising passes -------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

std::optional<double> kiln::raising::splatFloat(Value v) {
  Attribute attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense || !isa<FloatType>(dense.getElementType()) ||
      dense.getNumElements() == 0)
    return std::nullopt;
  if (dense.isSplat())
    return dense.getSplatValue<APFloat>().convertToDouble();
  // A dense constant whose elements happen to be equal counts too.
  auto values = dense.getValues<APFloat>();
  APFloat first = *values.begin();
  for (APFloat x : values)
    if (x.compare(first) != APFloat::cmpEqual)
      return std::nullopt;
  return first.convertToDouble();
}

double kiln::raising::tolerance(Type elementType) {
  // Exported constants are the exact value rounded once to the model's
  // type: a few ulps of the type cover it, 1e-6 at least (torch writes
  // 0.7978846 for sqrt(2/pi) = 0.79788456...).
  auto ft = dyn_cast<FloatType>(elementType);
  if (!ft || ft.getFPMantissaWidth() >= 24)
    return 1e-6;
  return std::ldexp(4.0, -(int)ft.getFPMantissaWidth());
}

bool kiln::raising::isNear(double got, double want, Type elementType) {
  double tol = tolerance(elementType);
  if (want == 0)
    return std::fabs(got) <= tol;
  return std::fabs(got - want) <= tol * std::fabs(want);
}

/// The constant behind `v` when it is a static-shape tensor of whole-byte
/// floats, the only weights the raising rewrites byte by byte.
static ElementsAttr wholeByteFloatConstant(Value v) {
  Attribute attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return {};
  auto type = dyn_cast<RankedTensorType>(v.getType());
  auto elements = dyn_cast<ElementsAttr>(attr);
  if (!type || !elements || !type.hasStaticShape() ||
      !isa<FloatType>(type.getElementType()) ||
      type.getElementTypeBitWidth() % 8)
    return {};
  return elements;
}

std::optional<std::vector<char>> kiln::raising::constantBytes(Value v) {
  ElementsAttr elements = wholeByteFloatConstant(v);
  return elements ? kiln::constantBytes(elements) : std::nullopt;
}

std::optional<ArrayRef<char>>
kiln::raising::constantBytes(Value v, std::vector<char> &storage) {
  ElementsAttr elements = wholeByteFloatConstant(v);
  return elements ? kiln::constantBytes(elements, storage) : std::nullopt;
}

Value kiln::raising::createConstant(OpBuilder &b, Location loc,
                                    RankedTensorType type, ArrayRef<char> bytes,
                                    StringRef name) {
  return arith::ConstantOp::create(b, loc,
                                   makeConstantAttr(type, bytes, name));
}

void kiln::raising::eraseDeadOps(ArrayRef<Operation *> roots,
                                 llvm::DenseSet<Operation *> *erased) {
  // Ops may be listed twice or feed each other: erase in waves, each time
  // queueing the producers of what was erased.
  llvm::SetVector<Operation *> work(roots.begin(), roots.end());
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!op->use_empty() || !isMemoryEffectFree(op) || op->getNumRegions() != 0)
      continue;
    SmallVector<Operation *> producers;
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp())
        producers.push_back(def);
    if (erased)
      erased->insert(op);
    op->erase();
    // An op erased above may still be queued under another root's wave.
    for (Operation *def : producers)
      work.insert(def);
  }
}

void kiln::raising::resolveShapeQueries(Operation *root) {
  SmallVector<Operation *> queries;
  root->walk([&](tensor::DimOp dim) { queries.push_back(dim); });
  if (queries.empty())
    return;
  // Only the queries and what replaces them are rewritten: no folding, so
  // the graph itself stays as imported.
  RewritePatternSet patterns(root->getContext());
  memref::populateResolveRankedShapedTypeResultDimsPatterns(patterns);
  GreedyRewriteConfig config;
  config.setStrictness(GreedyRewriteStrictness::ExistingAndNewOps)
      .enableFolding(false)
      .enableConstantCSE(false);
  (void)applyOpPatternsGreedily(queries, std::move(patterns), config);
  SmallVector<Operation *> left;
  root->walk([&](tensor::DimOp dim) { left.push_back(dim); });
  eraseDeadOps(left);
}

SmallVector<int64_t> kiln::raising::alignedShape(Value v, int64_t rank) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  while ((int64_t)shape.size() > rank) {
    if (shape.front() != 1)
      return {};
    shape.erase(shape.begin());
  }
  shape.insert(shape.begin(), rank - shape.size(), 1);
  return shape;
}

std::string kiln::raising::formatNumber(double x) {
  std::string s;
  llvm::raw_string_ostream(s) << llvm::format("%g", x);
  return s;
}

std::string kiln::raising::remarkShape(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, ", ");
  os << "]";
  return s;
}
