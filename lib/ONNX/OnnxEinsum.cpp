//===- OnnxEinsum.cpp - Einsum as transposes, reductions and matmuls ------===//
//
// Einsum equations are lowered operand pair by operand pair: letters only
// one side needs are summed away first, then the pair becomes one batched
// matmul over [batch, lhs-only, contracted] x [batch, contracted, rhs-only].
// Ellipses expand to fresh letters that broadcast like NumPy. A letter
// repeated within one operand (a diagonal, or a trace once summed) is
// taken first: the operand masked to the diagonal and summed over one of
// the two axes.
//
//===----------------------------------------------------------------------===//

#include "NodeContext.h"
#include "SharedBuilders.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// An operand with one letter per dimension.
struct Term {
  Value value;
  std::string letters;
};

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// Sums away the letters of `t` that `keep` does not contain.
Term sumAway(NodeContext &nc, Term t, StringRef keep) {
  SmallVector<int64_t> axes;
  std::string rest;
  for (auto [i, c] : llvm::enumerate(t.letters)) {
    if (keep.contains(c))
      rest.push_back(c);
    else
      axes.push_back(i);
  }
  if (axes.empty())
    return t;
  return {nc.reduce<ReduceSumOp>(t.value, axes, /*keepdims=*/false), rest};
}

/// Takes the diagonal of each letter `t` repeats (a term "ii" reads x[i, i]):
/// zeros off the diagonal of the two axes, then a sum over the second one.
FailureOr<Term> takeDiagonals(NodeContext &nc, Term t, StringRef spec) {
  for (size_t j = 0; j < t.letters.size(); ++j) {
    size_t i = t.letters.find(t.letters[j]);
    if (i == j)
      continue;
    RankedTensorType type = nc.typeOf(t.value);
    int64_t n = type.getDimSize(i);
    if (ShapedType::isDynamic(n) || n != type.getDimSize(j))
      return nc.error("term '" + spec + "' repeats letter '" +
                      Twine(t.letters[j]) +
                      "' over axes of different or dynamic sizes");
    SmallVector<int64_t> shape(type.getRank(), 1);
    shape[i] = shape[j] = n;
    SmallVector<bool> eye(n * n, false);
    for (int64_t k = 0; k < n; ++k)
      eye[k * n + k] = true;
    Value onDiagonal = nc.constant(DenseElementsAttr::get(
        RankedTensorType::get(shape, nc.b.getI1Type()), ArrayRef(eye)));
    Value masked =
        select(nc, onDiagonal, t.value, nc.scalar(type.getElementType(), 0));
    t.value = nc.reduce<ReduceSumOp>(masked, {(int64_t)j}, false);
    t.letters.erase(j--, 1);
  }
  return t;
}

/// Transposes `t` so its letters read `order` (a permutation of them).
Value permute(NodeContext &nc, Term t, StringRef order) {
  SmallVector<int64_t> perm;
  for (char c : order)
    perm.push_back(t.letters.find(c));
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    return t.value;
  return nc.transpose(t.value, perm);
}

/// One pairwise contraction producing the letters `out`.
FailureOr<Term> contract(NodeContext &nc, Term a, Term b, StringRef out) {
  auto sizeOf = [&](char c) -> int64_t {
    int64_t s = 1;
    for (Term *t : {&a, &b})
      if (size_t i = t->letters.find(c); i != std::string::npos)
        s = std::max(s, nc.typeOf(t->value).getDimSize(i));
    return s;
  };
  // Letters needed later stay; the rest of each side's own letters go.
  std::string keepA = out.str() + b.letters, keepB = out.str() + a.letters;
  a = sumAway(nc, a, keepA);
  b = sumAway(nc, b, keepB);
  std::string batch, lhs, rhs, inner;
  for (char c : a.letters) {
    bool inB = b.letters.find(c) != std::string::npos;
    bool inOut = out.contains(c);
    if (inB && inOut)
      batch.push_back(c);
    else if (inB)
      inner.push_back(c);
    else
      lhs.push_back(c);
  }
  for (char c : b.letters)
    if (a.letters.find(c) == std::string::npos)
      rhs.push_back(c);
  // Broadcast batch letters of size 1 against the other side.
  auto broadcastBatch = [&](Term &t) {
    RankedTensorType ty = nc.typeOf(t.value);
    SmallVector<int64_t> shape(ty.getShape());
    bool changed = false;
    for (auto [i, c] : llvm::enumerate(t.letters))
      if (batch.find(c) != std::string::npos && shape[i] != sizeOf(c)) {
        shape[i] = sizeOf(c);
        changed = true;
      }
    if (changed)
      t.value = BroadcastOp::create(nc.b, nc.loc, ty.clone(shape), t.value);
  };
  broadcastBatch(a);
  broadcastBatch(b);
  for (char c : inner) {
    int64_t ia = nc.typeOf(a.value).getDimSize(a.letters.find(c));
    int64_t ib = nc.typeOf(b.value).getDimSize(b.letters.find(c));
    if (ia != ib) {
      (void)nc.error(Twine("letter '") + Twine(c) + "' has sizes " +
                     Twine(ia) + " and " + Twine(ib));
      return failure();
    }
  }
  auto sizes = [&](StringRef letters) {
    SmallVector<int64_t> s;
    for (char c : letters)
      s.push_back(sizeOf(c));
    return s;
  };
  int64_t nb = product(sizes(batch)), nl = product(sizes(lhs)),
          nr = product(sizes(rhs)), nk = product(sizes(inner));
  Value la = nc.reshape(permute(nc, a, batch + lhs + inner), {nb, nl, nk});
  Value rb = nc.reshape(permute(nc, b, batch + inner + rhs), {nb, nk, nr});
  Type elt = nc.typeOf(la).getElementType();
  Value prod = MatmulOp::create(nc.b, nc.loc,
                                RankedTensorType::get({nb, nl, nr}, elt), la, rb);
  std::string letters = batch + lhs + rhs;
  Value shaped = nc.reshape(prod, sizes(letters));
  return Term{shaped, letters};
}

LogicalResult einsumOp(NodeContext &nc) {
  std::string eq;
  for (char c : nc.getString("equation", ""))
    if (!llvm::isSpace(c))
      eq.push_back(c);
  if (eq.empty())
    return nc.error("needs an equation");
  auto [lhsText, outText] = StringRef(eq).split("->");
  bool explicitOut = eq.find("->") != std::string::npos;
  SmallVector<StringRef> specs;
  lhsText.split(specs, ',');
  SmallVector<Value> operands;
  for (size_t i = 0; i < nc.numInputs(); ++i)
    if (Value v = nc.input(i))
      operands.push_back(v);
  if (specs.size() != operands.size())
    return nc.error("the equation names " + Twine(specs.size()) +
                    " operands but the node has " + Twine(operands.size()));

  // Ellipses become fresh upper-case letters, right-aligned.
  int64_t ellipsisRank = 0;
  for (auto [spec, v] : llvm::zip(specs, operands))
    if (spec.contains("..."))
      ellipsisRank = std::max<int64_t>(
          ellipsisRank, nc.typeOf(v).getRank() - ((int64_t)spec.size() - 3));
  std::string fresh;
  for (int64_t i = 0; i < ellipsisRank; ++i)
    fresh.push_back('A' + i);
  SmallVector<Term> terms;
  // Every operand's letters before diagonals are taken: the implicit output
  // is the letters written once.
  std::string written;
  for (auto [spec, v] : llvm::zip(specs, operands)) {
    std::string letters = spec.str();
    int64_t rank = nc.typeOf(v).getRank();
    if (size_t at = letters.find("..."); at != std::string::npos) {
      int64_t n = rank - ((int64_t)letters.size() - 3);
      letters.replace(at, 3, fresh.substr(fresh.size() - n));
    }
    if ((int64_t)letters.size() != rank)
      return nc.error("term '" + spec + "' does not match an operand of rank " +
                      Twine(rank));
    written += letters;
    FailureOr<Term> term = takeDiagonals(nc, {v, letters}, spec);
    if (failed(term))
      return failure();
    terms.push_back(*term);
  }
  std::string out;
  if (explicitOut) {
    out = outText.str();
    if (size_t at = out.find("..."); at != std::string::npos)
      out.replace(at, 3, fresh);
  } else {
    // Implicit output: the ellipsis, then letters used once, sorted.
    std::string once;
    for (char c = 'a'; c <= 'z'; ++c)
      if (llvm::count(written, c) == 1)
        once.push_back(c);
    out = fresh + once;
  }
  for (char c : out) {
    bool found = llvm::any_of(terms, [&](const Term &t) {
      return t.letters.find(c) != std::string::npos;
    });
    if (!found)
      return nc.error(Twine("output letter '") + Twine(c) +
                      "' is not in any operand");
  }

  Term acc = terms[0];
  for (size_t i = 1; i < terms.size(); ++i) {
    // Keep what the output or a later operand still needs.
    std::string needed = out;
    for (size_t j = i + 1; j < terms.size(); ++j)
      needed += terms[j].letters;
    std::string keep;
    for (char c : acc.letters + terms[i].letters)
      if (needed.find(c) != std::string::npos &&
          keep.find(c) == std::string::npos)
        keep.push_back(c);
    FailureOr<Term> next = contract(nc, acc, terms[i], keep);
    if (failed(next))
      return failure();
    acc = *next;
  }
  acc = sumAway(nc, acc, out);
  return nc.setResult(permute(nc, acc, out));
}

} // namespace

void kiln::onnx_import::registerEinsumHandler(HandlerTable &t) {
#define ONNX_EINSUM_OP(OpType, ...) t[OpType] = __VA_ARGS__;
#include "OnnxOps.def"
}
