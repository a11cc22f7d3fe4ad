//===- RaisingUtils.cpp - Helpers of the raising passes -------------------===//

#include "RaisingUtils.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/KilnOps.h"
#include "kiln/dialects/Kiln/Provenance.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>

using namespace mlir;

void kiln::raising::takeProvenance(Operation *raised, Operation *root) {
  // Its own location first: diagnostics about it (the raising remarks of
  // later patterns) keep pointing where they did.
  raised->setLoc(fuseProvenance(raised->getLoc(), matchedSubgraphLoc(root)));
}

std::optional<double> kiln::raising::scalarConstant(Value v) {
  Attribute attr;
  if (!matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  if (auto f = dyn_cast<FloatAttr>(attr))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(attr))
    return i.getType().isInteger(1) ? (double)i.getValue().getZExtValue()
                                    : (double)i.getValue().getSExtValue();
  if (auto d = dyn_cast<DenseElementsAttr>(attr); d && d.isSplat()) {
    if (isa<FloatType>(d.getElementType()))
      return d.getSplatValue<APFloat>().convertToDouble();
    APInt i = d.getSplatValue<APInt>();
    return d.getElementType().isInteger(1) ? (double)i.getZExtValue()
                                           : (double)i.getSExtValue();
  }
  return std::nullopt;
}

std::optional<double> kiln::raising::splatFillValue(Value v) {
  auto splat = v ? v.getDefiningOp<tensor::SplatOp>() : tensor::SplatOp();
  return splat ? scalarConstant(splat.getInput()) : std::nullopt;
}

std::optional<double> kiln::raising::splatFloat(Value v) {
  if (v && isa<FloatType>(getElementTypeOrSelf(v.getType())))
    if (std::optional<double> fill = splatFillValue(v))
      return fill;
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
    // Ops with regions only when they are linalg ops on tensors: the
    // broadcasts and iotas a dynamic import writes as linalg.generic.
    bool pureRegions = op->getNumRegions() == 0 ||
                       (isa<linalg::LinalgOp>(op) &&
                        cast<linalg::LinalgOp>(op).hasPureTensorSemantics());
    if (!op->use_empty() || !isMemoryEffectFree(op) || !pureRegions)
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

Value kiln::raising::reshapeInput(Value v) {
  Operation *op = v ? v.getDefiningOp() : nullptr;
  if (!op || !isa<kiln::ReshapeOp, tensor::ExpandShapeOp,
                  tensor::CollapseShapeOp, tensor::ReshapeOp>(op))
    return Value();
  return op->getOperand(0);
}

Value kiln::raising::broadcastInput(Value v) {
  Operation *op = v ? v.getDefiningOp() : nullptr;
  if (auto bc = dyn_cast_or_null<kiln::BroadcastOp>(op))
    return bc.getInput();
  auto generic = dyn_cast_or_null<linalg::GenericOp>(op);
  if (!generic || generic.getNumDpsInputs() != 1 ||
      generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return Value();
  // The body yields the input element as it is.
  auto yield = cast<linalg::YieldOp>(generic.getBody()->getTerminator());
  if (yield.getNumOperands() != 1 ||
      yield.getOperand(0) != generic.getBody()->getArgument(0))
    return Value();
  // The output is written in order; the input is read at the output's
  // indices in order, or at 0 where it is stretched.
  OpOperand *in = generic.getDpsInputOperand(0);
  AffineMap outMap =
      generic.getMatchingIndexingMap(generic.getDpsInitOperand(0));
  AffineMap inMap = generic.getMatchingIndexingMap(in);
  auto inType = dyn_cast<RankedTensorType>(in->get().getType());
  if (!outMap.isIdentity() || !inType ||
      inMap.getNumResults() != inType.getRank())
    return Value();
  int64_t next = generic.getNumLoops() - inType.getRank();
  for (auto [i, expr] : llvm::enumerate(inMap.getResults())) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    auto c = dyn_cast<AffineConstantExpr>(expr);
    if (!(d && d.getPosition() == next + (int64_t)i) &&
        !(c && c.getValue() == 0 && inType.getDimSize(i) == 1))
      return Value();
  }
  return in->get();
}

bool kiln::raising::isIota(Value v) {
  while (Value in = reshapeInput(v)) {
    auto nonUnit = [](Value t) {
      return llvm::count_if(cast<RankedTensorType>(t.getType()).getShape(),
                            [](int64_t d) { return d != 1; });
    };
    if (nonUnit(in) != 1 || nonUnit(v) != 1)
      return false;
    v = in;
  }
  auto g = v.getDefiningOp<linalg::GenericOp>();
  if (!g || g.getNumLoops() != 1 || g.getNumDpsInputs() != 0 ||
      g.getNumDpsInits() != 1 ||
      !g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity())
    return false;
  // index_cast(linalg.index 0), as Range writes it: start 0 added, step 1
  // multiplied.
  Value y = cast<linalg::YieldOp>(g.getBody()->getTerminator()).getOperand(0);
  auto otherThan = [](Operation *op, int64_t identity) -> Value {
    for (unsigned i : {0u, 1u}) {
      APInt c;
      if (matchPattern(op->getOperand(i), m_ConstantInt(&c)) && c == identity)
        return op->getOperand(1 - i);
    }
    return Value();
  };
  if (auto add = y.getDefiningOp<arith::AddIOp>())
    y = otherThan(add, 0);
  if (auto mul = y ? y.getDefiningOp<arith::MulIOp>() : arith::MulIOp())
    y = otherThan(mul, 1);
  if (auto cast = y ? y.getDefiningOp<arith::IndexCastOp>()
                    : arith::IndexCastOp())
    y = cast.getIn();
  if (!y)
    return false;
  auto index = y.getDefiningOp<linalg::IndexOp>();
  return index && index.getDim() == 0;
}

bool kiln::raising::isWholeDim(SymbolicDims &dims, OpFoldResult size,
                               Value tensor, int64_t d) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (std::optional<int64_t> c = getConstantIntValue(size))
    return !type.isDynamicDim(d) && *c == type.getDimSize(d);
  return type.isDynamicDim(d) &&
         dims.evaluate(cast<Value>(size)) == dims.sizeOf(tensor, d);
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
  llvm::interleave(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << "?";
    else
      os << d;
  }, ", ");
  os << "]";
  return s;
}
