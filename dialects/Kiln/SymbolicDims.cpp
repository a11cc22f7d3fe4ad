//===- SymbolicDims.cpp - Dimensions as products of symbols ---------------===//

#include "kiln/dialects/Kiln/SymbolicDims.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

using namespace mlir;
using namespace kiln;

SymbolicSize SymbolicSize::operator*(const SymbolicSize &o) const {
  SymbolicSize r{coefficient * o.coefficient, atoms};
  r.atoms.append(o.atoms.begin(), o.atoms.end());
  return r;
}

bool SymbolicSize::operator==(const SymbolicSize &o) const {
  if (coefficient != o.coefficient || atoms.size() != o.atoms.size())
    return false;
  // Atoms multiply, so their order does not matter (it is kept as found,
  // for deterministic materialized IR).
  auto sorted = [](ArrayRef<Value> values) {
    SmallVector<const void *> keys;
    for (Value v : values)
      keys.push_back(v.getAsOpaquePointer());
    llvm::sort(keys);
    return keys;
  };
  return sorted(atoms) == sorted(o.atoms);
}

std::optional<SymbolicSize>
SymbolicSize::dividedBy(const SymbolicSize &o) const {
  if (o.coefficient == 0 || coefficient % o.coefficient != 0)
    return std::nullopt;
  SymbolicSize r{coefficient / o.coefficient, atoms};
  for (Value a : o.atoms) {
    auto it = llvm::find(r.atoms, a);
    if (it == r.atoms.end())
      return std::nullopt;
    r.atoms.erase(it);
  }
  return r;
}

SmallVector<std::string> kiln::dimSymbols(DictionaryAttr attrs) {
  SmallVector<std::string> names;
  if (!attrs)
    return names;
  if (auto list = attrs.getAs<ArrayAttr>(kDimSymbolsAttr))
    for (Attribute a : list)
      names.push_back(isa<StringAttr>(a) ? cast<StringAttr>(a).str() : "");
  return names;
}

SymbolicDims::SymbolicDims(func::FuncOp func) : func(func) {
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    for (auto [d, name] : llvm::enumerate(dimSymbols(func.getArgAttrDict(i))))
      if (!name.empty())
        symbolSource.try_emplace(name, i, (int64_t)d);
}

Value SymbolicDims::symbolValue(StringRef symbol) {
  if (Value v = symbolAtoms.lookup(symbol))
    return v;
  auto source = symbolSource.find(symbol);
  if (source == symbolSource.end())
    return nullptr;
  auto [arg, dim] = source->second;
  OpBuilder b = OpBuilder::atBlockBegin(&func.getBody().front());
  Value v = tensor::DimOp::create(b, func.getLoc(), func.getArgument(arg), dim);
  symbolAtoms[symbol] = v;
  atomSymbols[v] = symbol.str();
  return v;
}

SymbolicSize SymbolicDims::atom(Value v) { return {1, {v}}; }

SymbolicSize SymbolicDims::sizeOfArgument(BlockArgument arg, int64_t dim) {
  SmallVector<std::string> names;
  if (arg.getOwner()->isEntryBlock() &&
      arg.getOwner()->getParentOp() == func.getOperation())
    names = dimSymbols(func.getArgAttrDict(arg.getArgNumber()));
  if (dim < (int64_t)names.size() && !names[dim].empty())
    if (Value v = symbolValue(names[dim]))
      return atom(v);
  OpBuilder b = OpBuilder::atBlockBegin(arg.getOwner());
  return atom(tensor::DimOp::create(b, arg.getLoc(), arg, dim));
}

SymbolicSize SymbolicDims::sizeOf(Value tensor, int64_t dim) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!type.isDynamicDim(dim))
    return SymbolicSize::constant(type.getDimSize(dim));
  auto known = sizes.find({tensor, dim});
  if (known != sizes.end())
    return known->second;
  SymbolicSize size = sizeOfDynamic(tensor, dim);
  sizes[{tensor, dim}] = size;
  return size;
}

/// Whether `yielded` is `iterArg` updated in place (through inserts,
/// destination-style ops, ifs and nested loops), so of its shape.
static bool preservesShapeOf(Value yielded, BlockArgument iterArg) {
  for (int depth = 0; depth < 64 && yielded; ++depth) {
    if (yielded == iterArg)
      return true;
    Operation *def = yielded.getDefiningOp();
    if (auto insert = dyn_cast_or_null<tensor::InsertOp>(def)) {
      yielded = insert.getDest();
    } else if (auto slice = dyn_cast_or_null<tensor::InsertSliceOp>(def)) {
      yielded = slice.getDest();
    } else if (auto dps = dyn_cast_or_null<DestinationStyleOpInterface>(def)) {
      yielded = dps.getTiedOpOperand(cast<OpResult>(yielded))->get();
    } else if (auto loop = dyn_cast_or_null<scf::ForOp>(def)) {
      yielded = loop.getInitArgs()[cast<OpResult>(yielded).getResultNumber()];
    } else if (auto branch = dyn_cast_or_null<scf::IfOp>(def)) {
      unsigned i = cast<OpResult>(yielded).getResultNumber();
      Value other = branch.elseYield().getOperand(i);
      yielded = branch.thenYield().getOperand(i);
      if (!preservesShapeOf(other, iterArg))
        return false;
    } else {
      return false;
    }
  }
  return false;
}

SymbolicSize SymbolicDims::sizeOfDynamic(Value tensor, int64_t dim) {
  if (auto arg = dyn_cast<BlockArgument>(tensor))
    return sizeOfArgument(arg, dim);
  // A loop that updates a tensor in place keeps its initial value's shape.
  if (auto loop = tensor.getDefiningOp<scf::ForOp>()) {
    unsigned i = cast<OpResult>(tensor).getResultNumber();
    if (preservesShapeOf(loop.getYieldedValues()[i],
                         loop.getRegionIterArgs()[i]))
      return sizeOf(loop.getInitArgs()[i], dim);
  }
  // Ops that say how their sizes follow from their operands. The IR this
  // creates (tensor.dim of operands, index arithmetic) is what the sizes
  // are at run time; what the caller does not use is folded away later.
  Operation *def = tensor.getDefiningOp();
  OpBuilder b(def->getContext());
  b.setInsertionPointAfter(def);
  if (isa<ReifyRankedShapedTypeOpInterface>(def)) {
    ReifiedRankedShapedTypeDims dims;
    if (succeeded(reifyResultShapes(b, def, dims))) {
      unsigned result = cast<OpResult>(tensor).getResultNumber();
      OpFoldResult size = dims[result][dim];
      if (auto attr = dyn_cast<Attribute>(size))
        return SymbolicSize::constant(cast<IntegerAttr>(attr).getInt());
      return evaluate(cast<Value>(size));
    }
  }
  return atom(tensor::DimOp::create(b, def->getLoc(), tensor, dim));
}

SymbolicSize SymbolicDims::evaluate(Value value) {
  auto cached = cache.find(value);
  if (cached != cache.end())
    return cached->second;
  SymbolicSize size = atom(value);
  Operation *def = value.getDefiningOp();
  APInt constant;
  if (def && matchPattern(value, m_ConstantInt(&constant))) {
    size = SymbolicSize::constant(constant.getSExtValue());
  } else if (isa_and_nonnull<arith::IndexCastOp, arith::IndexCastUIOp,
                             arith::ExtSIOp, arith::ExtUIOp, arith::TruncIOp>(
                 def)) {
    size = evaluate(def->getOperand(0));
  } else if (auto mul = dyn_cast_or_null<arith::MulIOp>(def)) {
    size = evaluate(mul.getLhs()) * evaluate(mul.getRhs());
  } else if (isa_and_nonnull<arith::DivSIOp, arith::DivUIOp,
                             arith::CeilDivSIOp, arith::FloorDivSIOp>(def)) {
    if (auto q = evaluate(def->getOperand(0))
                     .dividedBy(evaluate(def->getOperand(1))))
      size = *q;
  } else if (auto sub = dyn_cast_or_null<arith::SubIOp>(def)) {
    // (a + b) - b: the count of a Range(b, b + a), e.g. arange(past,
    // past + seq).
    if (auto add = sub.getLhs().getDefiningOp<arith::AddIOp>()) {
      SymbolicSize b = evaluate(sub.getRhs());
      if (evaluate(add.getRhs()) == b)
        size = evaluate(add.getLhs());
      else if (evaluate(add.getLhs()) == b)
        size = evaluate(add.getRhs());
    }
  } else if (auto max = dyn_cast_or_null<arith::MaxSIOp>(def)) {
    // max(x, 0) of a size that cannot be negative (a Range's count).
    APInt zero;
    if (matchPattern(max.getRhs(), m_ConstantInt(&zero)) && zero.isZero()) {
      SymbolicSize x = evaluate(max.getLhs());
      if (isNonNegative(x))
        size = x;
    }
  } else if (auto apply = dyn_cast_or_null<affine::AffineApplyOp>(def)) {
    if (std::optional<SymbolicSize> v =
            evaluateAffine(apply.getAffineMap().getResult(0),
                           apply.getMapOperands(),
                           apply.getAffineMap().getNumDims()))
      size = *v;
  } else if (auto dim = dyn_cast_or_null<tensor::DimOp>(def)) {
    if (std::optional<int64_t> d = dim.getConstantIndex())
      size = atomSymbols.count(value) ? atom(value)
                                      : sizeOf(dim.getSource(), *d);
  } else if (auto extract = dyn_cast_or_null<tensor::ExtractOp>(def)) {
    auto elements =
        extract.getTensor().getDefiningOp<tensor::FromElementsOp>();
    APInt index;
    if (elements && extract.getIndices().size() == 1 &&
        matchPattern(extract.getIndices()[0], m_ConstantInt(&index)) &&
        index.getZExtValue() < elements.getElements().size())
      size = evaluate(elements.getElements()[index.getZExtValue()]);
  }
  cache[value] = size;
  return size;
}

std::optional<SymbolicSize>
SymbolicDims::evaluateAffine(AffineExpr expr, ValueRange operands,
                             unsigned numDims) {
  if (auto c = dyn_cast<AffineConstantExpr>(expr))
    return SymbolicSize::constant(c.getValue());
  if (auto d = dyn_cast<AffineDimExpr>(expr))
    return evaluate(operands[d.getPosition()]);
  if (auto s = dyn_cast<AffineSymbolExpr>(expr))
    return evaluate(operands[numDims + s.getPosition()]);
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary)
    return std::nullopt;
  std::optional<SymbolicSize> l =
      evaluateAffine(binary.getLHS(), operands, numDims);
  std::optional<SymbolicSize> r =
      evaluateAffine(binary.getRHS(), operands, numDims);
  if (!l || !r)
    return std::nullopt;
  switch (expr.getKind()) {
  case AffineExprKind::Mul:
    return *l * *r;
  case AffineExprKind::FloorDiv:
  case AffineExprKind::CeilDiv:
    return l->dividedBy(*r);
  case AffineExprKind::Add:
    if (l->isConstant() && r->isConstant())
      return SymbolicSize::constant(l->coefficient + r->coefficient);
    if (*l == SymbolicSize::constant(0))
      return r;
    if (*r == SymbolicSize::constant(0))
      return l;
    return std::nullopt;
  default:
    return std::nullopt;
  }
}

std::optional<std::string>
SymbolicDims::symbolOf(const SymbolicSize &size) const {
  if (size.coefficient != 1 || size.atoms.size() != 1)
    return std::nullopt;
  auto it = atomSymbols.find(size.atoms[0]);
  if (it == atomSymbols.end())
    return std::nullopt;
  return it->second;
}

bool SymbolicDims::isNonNegative(const SymbolicSize &size) const {
  return size.coefficient >= 0 && llvm::all_of(size.atoms, [](Value a) {
           return a.getDefiningOp<tensor::DimOp>() != nullptr;
         });
}

Value SymbolicDims::materialize(OpBuilder &b, Location loc,
                                const SymbolicSize &size) {
  Value result = arith::ConstantIndexOp::create(b, loc, size.coefficient);
  if (size.atoms.empty())
    return result;
  if (size.coefficient == 1)
    result = nullptr;
  for (Value a : size.atoms) {
    if (!a.getType().isIndex())
      a = arith::IndexCastOp::create(b, loc, b.getIndexType(), a);
    result = result ? arith::MulIOp::create(b, loc, result, a) : a;
  }
  return result;
}
