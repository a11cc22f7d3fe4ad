//===- SparseMoEDispatch.cpp - HF Mixtral's sparse loop to dense ----------===//
//
// Hugging Face's MixtralSparseMoeBlock.forward, per expert e:
//
//   idx, top_x = torch.where(expert_mask[e])   # expert_mask = one_hot(
//                                              #   selected, E).permute(2,1,0)
//   x_e = hidden[None, top_x].reshape(-1, H)
//   y_e = expert_e(x_e) * routing_weights[top_x, idx, None]
//   final.index_add_(0, top_x, y_e)
//
// torch.onnx.export (opset 17, torch 1.13) writes it, per expert, as
//
//   m     = Cast<bool>(Gather(Transpose<2,1,0>(OneHot(I, E, [0,1])), e))
//   nz    = NonZero(m)                                 # [2, n]
//   s0,s1 = Split<axis 1>(Transpose<1,0>(nz), [1,1])
//   idx   = Squeeze(s0, [1]); top_x = Squeeze(s1, [1])
//   x_e   = Reshape(Gather<axis 1>(Unsqueeze(X, [0]), top_x), [-1, H])
//   y     = FFN_e(x_e)                                  # row-wise
//   U     = Unsqueeze(W, [2])                           # W [T, K]
//   lin   = Add(idx, Mul(top_x, Shape(U)[1]))
//   w_e   = Reshape(Reshape(Gather(Flatten<2>(U), lin),
//                           Concat(-1, Shape(U)[2])),
//                   Concat(Shape(lin), Shape(U)[2]))     # [n, 1]
//   z     = Cast*(Mul(y, w_e))
//   z'    = Expand(z, [1, H] or Shape(Slice(acc, [0,0], [1,max])))
//   sc    = ScatterElements<axis 0>(zeros[T, H],
//                                   Expand(Unsqueeze(top_x, [1]), Shape(z')),
//                                   z')
//   acc'  = Add(acc, sc)
//
// where I, W are the top-k's indices and (renormalized) values. The top-k
// picks distinct experts per token, so token t is routed to e in at most one
// slot j (I[t, j] = e): NonZero lists each such t once, the scatter writes
// distinct rows (so ScatterElements without reduction is index_add_), and
//
//   sc[t] = FFN_e(X[t]) * W[t, j]   if t is routed to e,   0 otherwise.
//
// (Two other HF forms differ only in the mask, [T, K] so that NonZero's rows
// are (top_x, idx): torch.where(I == e), Equal(I, e); and DeepSeek-V3's
// one_hot(I, E).permute(2, 0, 1), Transpose<2,0,1>.)
//
// The rewrite computes the same tensor in dense form, with static shapes:
//
//   D     = ScatterElements<axis 1>(zeros[T, E], I, W)  # once per router
//   x_e   = Identity(X)
//   w_e   = Slice(D, [e], [e+1], [1])                   # [T, 1]
//   sc    = Identity(z)                                 # FFN_e(X) * D[:, e]
//
// which is exactly what the dense export writes, so kiln-raise-moe raises it
// to kiln.moe_route + kiln.moe_experts. D[t, e] is W[t, j] bit for bit (a
// scatter, no arithmetic); a routed row is the same product of the same
// numbers; an unrouted row is FFN_e(X[t]) * 0, which is 0 (its sign aside)
// whenever FFN_e(X[t]) is finite. Raised, moe_experts computes only routed
// pairs, so that caveat is gone; left as generic ops, an expert that
// overflows to inf/NaN on a token not routed to it would turn the sum NaN.
//
// The matching is strict: every use of every value derived from the NonZero
// is accounted for, FFN_e must be built only of ops that act on each row on
// its own (matmuls by constants, elementwise ops with row-free constants),
// and its values may be used nowhere else. Shapes the graph does not state
// (X's, I's, W's, the product's) are returned as checks the importer makes
// on the imported types. A NonZero that does not match is left as it was,
// and the importer rejects it as before. Only the static-shape export is
// matched: with dynamic_axes, torch writes the zeros as ConstantOfShape and
// the reshapes with computed shapes, which this does not follow.
//
//===----------------------------------------------------------------------===//

#include "kiln/passes/Raising/ONNX/SparseMoEDispatch.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cstring>
#include <map>
#include <optional>
#include <set>

using namespace kiln::raising;

namespace {

using Ints = llvm::SmallVector<int64_t>;

/// A constant tensor's shape and, when it holds integers, their values.
struct ConstValue {
  Ints dims;
  std::optional<Ints> ints;
  /// Whether every element is +0 (all bits zero), for float tensors.
  bool allZeroBits = false;
  int dataType = 0;
};

/// Appends the `n` little-endian `T`s of `t`'s raw data, or its typed field
/// `values`; false when the raw data is not `n` of them.
template <typename T, typename Field>
bool appendInts(const onnx::TensorProto &t, int64_t n, const Field &values,
                Ints &out) {
  if (!t.has_raw_data()) {
    out.append(values.begin(), values.end());
    return true;
  }
  if ((int64_t)t.raw_data().size() != n * (int64_t)sizeof(T))
    return false;
  for (int64_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, t.raw_data().data() + sizeof(T) * i, sizeof(T));
    out.push_back(v);
  }
  return true;
}

std::optional<Ints> tensorInts(const onnx::TensorProto &t, int64_t n) {
  Ints out;
  bool ok = false;
  if (t.data_type() == onnx::TensorProto::INT64)
    ok = appendInts<int64_t>(t, n, t.int64_data(), out);
  else if (t.data_type() == onnx::TensorProto::INT32)
    ok = appendInts<int32_t>(t, n, t.int32_data(), out);
  if (!ok || (int64_t)out.size() != n)
    return std::nullopt;
  return out;
}

bool tensorAllZeroBits(const onnx::TensorProto &t, int64_t n) {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return false;
  if (t.has_raw_data()) {
    int64_t size;
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      size = 4;
      break;
    case onnx::TensorProto::DOUBLE:
      size = 8;
      break;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      size = 2;
      break;
    default:
      return false;
    }
    return (int64_t)t.raw_data().size() == n * size &&
           llvm::all_of(t.raw_data(), [](char c) { return c == 0; });
  }
  auto zeroFloat = [](float f) {
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    return bits == 0;
  };
  auto zeroDouble = [](double d) {
    uint64_t bits;
    std::memcpy(&bits, &d, 8);
    return bits == 0;
  };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    return t.float_data_size() == n && llvm::all_of(t.float_data(), zeroFloat);
  case onnx::TensorProto::DOUBLE:
    return t.double_data_size() == n &&
           llvm::all_of(t.double_data(), zeroDouble);
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
    return t.int32_data_size() == n &&
           llvm::all_of(t.int32_data(), [](int32_t v) { return v == 0; });
  default:
    return false;
  }
}

ConstValue fromTensor(const onnx::TensorProto &t) {
  ConstValue c;
  c.dims.append(t.dims().begin(), t.dims().end());
  int64_t n = 1;
  for (int64_t d : c.dims)
    n *= d;
  c.dataType = t.data_type();
  if (t.data_location() != onnx::TensorProto::EXTERNAL) {
    c.ints = tensorInts(t, n);
    c.allZeroBits = tensorAllZeroBits(t, n);
  }
  return c;
}

int64_t attrInt(const onnx::NodeProto &n, const std::string &name,
                int64_t fallback) {
  for (const onnx::AttributeProto &a : n.attribute())
    if (a.name() == name && a.type() == onnx::AttributeProto::INT)
      return a.i();
  return fallback;
}

bool hasAttr(const onnx::NodeProto &n, const std::string &name) {
  return llvm::any_of(n.attribute(), [&](const onnx::AttributeProto &a) {
    return a.name() == name;
  });
}

std::optional<Ints> attrInts(const onnx::NodeProto &n,
                             const std::string &name) {
  for (const onnx::AttributeProto &a : n.attribute())
    if (a.name() == name && a.type() == onnx::AttributeProto::INTS)
      return Ints(a.ints().begin(), a.ints().end());
  return std::nullopt;
}

/// Ops that map each row of their (rank-2) input to a row of their output
/// on its own, whatever their attributes.
bool isRowwiseUnary(const std::string &op) {
  static const llvm::StringSet<> ops = {
      "Sigmoid",  "Relu",        "Tanh",      "Erf",       "Neg",
      "Exp",      "Log",         "Sqrt",      "Abs",       "Softplus",
      "Identity", "Cast",        "Elu",       "LeakyRelu", "Selu",
      "Gelu",     "HardSigmoid", "HardSwish", "Reciprocal"};
  return ops.contains(op);
}

bool isElementwiseBinary(const std::string &op) {
  return op == "Add" || op == "Sub" || op == "Mul" || op == "Div" ||
         op == "Pow";
}

class Matcher {
public:
  explicit Matcher(onnx::GraphProto &graph) : graph(graph) {
    for (const onnx::TensorProto &t : graph.initializer())
      initializers[t.name()] = &t;
    for (const onnx::ValueInfoProto &o : graph.output())
      graphOutputs.insert(o.name());
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto &n = graph.node(i);
      for (const std::string &out : n.output())
        if (!out.empty())
          producer[out] = i;
      for (const std::string &in : n.input())
        if (!in.empty())
          users[in].push_back(i);
    }
  }

  std::vector<SparseDispatchCheck> run();

private:
  /// What the importer checks (nonZero: the NonZero's name), and what the
  /// rewrite needs besides.
  struct Match : SparseDispatchCheck {
    int64_t expert;
    /// Whether NonZero's rows are (token, slot) rather than (slot, token).
    bool tokenFirst = false;
    /// Nodes replaced: the tokens' Reshape, the weights' Reshape, the
    /// scatter.
    int tokensNode, weightsNode, scatterNode;
    /// Nodes that must be gone after the rewrite.
    std::set<int> removed;
    /// Nodes that may be gone after the rewrite (read only by the pattern).
    std::set<int> maybeRemoved;
  };

  const onnx::NodeProto *def(const std::string &v) const {
    auto it = producer.find(v);
    return it == producer.end() ? nullptr : &graph.node(it->second);
  }
  int defIndex(const std::string &v) const {
    auto it = producer.find(v);
    return it == producer.end() ? -1 : it->second;
  }
  const onnx::NodeProto *defOp(const std::string &v,
                               const std::string &op) const {
    const onnx::NodeProto *n = def(v);
    return n && n->op_type() == op && n->domain().empty() ? n : nullptr;
  }
  /// The nodes reading `v` (a node reading it twice counts twice).
  llvm::ArrayRef<int> usersOf(const std::string &v) const {
    auto it = users.find(v);
    return it == users.end() ? llvm::ArrayRef<int>() : it->second;
  }
  /// The single node reading `v` (not a graph output), of type `op`.
  const onnx::NodeProto *onlyUser(const std::string &v,
                                  const std::string &op) const {
    llvm::ArrayRef<int> u = usersOf(v);
    if (u.size() != 1 || graphOutputs.contains(v))
      return nullptr;
    const onnx::NodeProto &n = graph.node(u[0]);
    return n.op_type() == op && n.domain().empty() ? &n : nullptr;
  }
  int indexOf(const onnx::NodeProto *n) const {
    return n ? defIndex(n->output(0)) : -1;
  }
  /// The users of `v` when they are one node that `accept` takes plus one
  /// Shape of the whole of `v`, and `v` is no graph output: that node and
  /// the Shape. Two nulls otherwise.
  std::pair<const onnx::NodeProto *, const onnx::NodeProto *>
  userAndShape(const std::string &v,
               llvm::function_ref<bool(const onnx::NodeProto &)> accept) const {
    const onnx::NodeProto *user = nullptr, *shape = nullptr;
    for (int i : usersOf(v)) {
      const onnx::NodeProto &n = graph.node(i);
      if (!user && accept(n))
        user = &n;
      else if (n.op_type() == "Shape" && !shape && !hasAttr(n, "start") &&
               !hasAttr(n, "end"))
        shape = &n;
      else
        return {nullptr, nullptr};
    }
    if (!user || !shape || graphOutputs.contains(v))
      return {nullptr, nullptr};
    return {user, shape};
  }

  std::optional<ConstValue> constant(const std::string &v) const {
    auto init = initializers.find(v);
    if (init != initializers.end())
      return fromTensor(*init->second);
    const onnx::NodeProto *n = defOp(v, "Constant");
    if (!n || n->attribute_size() != 1)
      return std::nullopt;
    const onnx::AttributeProto &a = n->attribute(0);
    if (a.name() == "value" && a.type() == onnx::AttributeProto::TENSOR)
      return fromTensor(a.t());
    ConstValue c;
    if (a.name() == "value_int" && a.type() == onnx::AttributeProto::INT) {
      c.ints = Ints{a.i()};
      return c;
    }
    if (a.name() == "value_ints" && a.type() == onnx::AttributeProto::INTS) {
      c.ints = Ints(a.ints().begin(), a.ints().end());
      c.dims = {(int64_t)c.ints->size()};
      return c;
    }
    return std::nullopt;
  }
  std::optional<Ints> constInts(const std::string &v) const {
    std::optional<ConstValue> c = constant(v);
    return c ? c->ints : std::nullopt;
  }
  bool isConstInts(const std::string &v, llvm::ArrayRef<int64_t> want) const {
    std::optional<Ints> c = constInts(v);
    return c && llvm::ArrayRef<int64_t>(*c) == want;
  }
  /// Whether `v` is a constant (initializer or Constant node).
  bool isConstant(const std::string &v) const {
    return initializers.count(v) || defOp(v, "Constant");
  }
  /// The node's axes, from its attribute (older opsets) or its input 1.
  std::optional<Ints> axesOf(const onnx::NodeProto &n,
                             const std::string &attr) const {
    if (std::optional<Ints> a = attrInts(n, attr))
      return a;
    if (n.input_size() > 1)
      return constInts(n.input(1));
    return std::nullopt;
  }
  /// `v` is Gather<axis 0>(Shape(u), d) (d a scalar or [d]); sets `u`.
  bool isShapeDim(const std::string &v, int64_t d, std::string &u,
                  Match &m) const {
    const onnx::NodeProto *g = defOp(v, "Gather");
    if (!g || attrInt(*g, "axis", 0) != 0 || g->input_size() != 2)
      return false;
    std::optional<ConstValue> idx = constant(g->input(1));
    if (!idx || !idx->ints || idx->ints->size() != 1 || (*idx->ints)[0] != d)
      return false;
    const onnx::NodeProto *shape = defOp(g->input(0), "Shape");
    if (!shape || hasAttr(*shape, "start") || hasAttr(*shape, "end"))
      return false;
    if (!u.empty() && u != shape->input(0))
      return false;
    u = shape->input(0);
    m.maybeRemoved.insert(indexOf(g));
    m.maybeRemoved.insert(indexOf(shape));
    return true;
  }

  std::optional<Match> match(int nonZero);
  // The steps of match, in the order it reads the pattern.
  /// The users of top_x: the token gather, the flat weight index's
  /// multiply, the scatter's row unsqueeze; `u` is the unsqueezed weights.
  struct TopXUsers {
    const onnx::NodeProto *gather = nullptr, *mulK = nullptr, *rowsU = nullptr;
    std::string u;
  };
  bool matchExpertMask(const onnx::NodeProto &nz, Match &m);
  bool matchEqualMask(const onnx::NodeProto &eq, Match &m);
  bool matchTopKIndices(Match &m);
  bool matchNonZeroSplit(const onnx::NodeProto &nz, Match &m, std::string &idx,
                         std::string &tx);
  bool matchTopXUsers(const std::string &tx, Match &m, TopXUsers &t);
  const onnx::NodeProto *matchTokenGather(const onnx::NodeProto &gather,
                                          Match &m);
  const onnx::NodeProto *matchWeightIndex(const std::string &idx,
                                          const TopXUsers &t, Match &m);
  const onnx::NodeProto *matchWeightGather(const onnx::NodeProto &lin,
                                           std::string &u, Match &m);
  const onnx::NodeProto *matchScatter(const onnx::NodeProto &term,
                                      const onnx::NodeProto &rowsU, Match &m,
                                      const onnx::NodeProto *&expand);
  bool matchAccumulator(const onnx::NodeProto &scatter, Match &m);
  bool matchExpandShape(const onnx::NodeProto &expand, Match &m);
  bool matchExpert(Match &m, const std::string &xs,
                   const onnx::NodeProto *&term, const std::string &wg);

  onnx::GraphProto &graph;
  llvm::StringMap<const onnx::TensorProto *> initializers;
  llvm::StringSet<> graphOutputs;
  llvm::StringMap<int> producer;
  llvm::StringMap<llvm::SmallVector<int>> users;
};

/// FFN_e: every node reachable from the gathered tokens `xs` (short of the
/// node multiplying by the weights) must act on rows on its own, and its
/// results may be read only by one another or by that node; the one it
/// reads is the expert's output.
bool Matcher::matchExpert(Match &m, const std::string &xs,
                          const onnx::NodeProto *&term, const std::string &wg) {
  // The weights' single reader is the multiply by the expert's output.
  const onnx::NodeProto *mul = onlyUser(wg, "Mul");
  if (!mul || mul->input_size() != 2)
    return false;
  std::string y = mul->input(0) == wg ? mul->input(1) : mul->input(0);
  if (y == wg || y == xs)
    return false;
  int termIndex = indexOf(mul);
  std::set<int> body;
  llvm::SmallVector<std::string> work = {xs};
  llvm::StringSet<> inBody = {xs};
  while (!work.empty()) {
    std::string v = work.pop_back_val();
    if (graphOutputs.contains(v))
      return false;
    for (int u : usersOf(v)) {
      if (u == termIndex) {
        if (v != y)
          return false;
        continue;
      }
      if (!body.insert(u).second)
        continue;
      const onnx::NodeProto &n = graph.node(u);
      if (!n.domain().empty() || n.output_size() != 1)
        return false;
      for (const std::string &out : n.output())
        if (inBody.insert(out).second)
          work.push_back(out);
    }
  }
  if (!inBody.contains(y) || y == xs)
    return false;
  // Each body node's inputs are body values or row-free constants.
  for (int i : body) {
    const onnx::NodeProto &n = graph.node(i);
    const std::string &op = n.op_type();
    if (isRowwiseUnary(op)) {
      if (n.input_size() != 1 || !inBody.contains(n.input(0)))
        return false;
    } else if (isElementwiseBinary(op)) {
      if (n.input_size() != 2)
        return false;
      for (const std::string &in : n.input()) {
        if (inBody.contains(in))
          continue;
        // A constant broadcast against [rows, cols]: no row dimension.
        std::optional<ConstValue> c = constant(in);
        if (!c || c->dims.size() > 2 ||
            (c->dims.size() == 2 && c->dims[0] != 1))
          return false;
      }
    } else if (op == "MatMul") {
      if (n.input_size() != 2 || !inBody.contains(n.input(0)) ||
          inBody.contains(n.input(1)))
        return false;
      std::optional<ConstValue> c = constant(n.input(1));
      if (!c || c->dims.size() != 2)
        return false;
    } else if (op == "Gemm") {
      if (n.input_size() < 2 || !inBody.contains(n.input(0)) ||
          attrInt(n, "transA", 0) != 0)
        return false;
      std::optional<ConstValue> b = constant(n.input(1));
      if (!b || b->dims.size() != 2)
        return false;
      if (n.input_size() > 2 && !n.input(2).empty()) {
        std::optional<ConstValue> c = constant(n.input(2));
        if (!c || c->dims.size() > 2 ||
            (c->dims.size() == 2 && c->dims[0] != 1))
          return false;
      }
    } else {
      return false;
    }
  }
  term = mul;
  return true;
}

std::optional<Matcher::Match> Matcher::match(int nonZero) {
  Match m;
  const onnx::NodeProto &nz = graph.node(nonZero);
  m.nonZero =
      nz.name().empty() ? "NonZero_" + std::to_string(nonZero) : nz.name();
  if (nz.input_size() != 1 || nz.output_size() != 1)
    return std::nullopt;
  m.removed.insert(nonZero);

  std::string idx, tx;
  TopXUsers topX;
  if (!matchExpertMask(nz, m) || !matchNonZeroSplit(nz, m, idx, tx) ||
      !matchTopXUsers(tx, m, topX))
    return std::nullopt;
  const onnx::NodeProto *xs = matchTokenGather(*topX.gather, m);
  const onnx::NodeProto *lin = xs ? matchWeightIndex(idx, topX, m) : nullptr;
  const onnx::NodeProto *w = lin ? matchWeightGather(*lin, topX.u, m) : nullptr;
  // The expert and the multiply by its weights.
  const onnx::NodeProto *term = nullptr;
  if (!w || !matchExpert(m, xs->output(0), term, w->output(0)))
    return std::nullopt;
  const onnx::NodeProto *expand = nullptr;
  const onnx::NodeProto *scatter = matchScatter(*term, *topX.rowsU, m, expand);
  if (!scatter || !matchAccumulator(*scatter, m) ||
      !matchExpandShape(*expand, m))
    return std::nullopt;
  m.maybeRemoved.erase(-1);
  m.removed.erase(-1);
  return m;
}

bool Matcher::matchExpertMask(const onnx::NodeProto &nz, Match &m) {
  // The mask: Cast<bool>(Gather(Transpose<2,1,0>(OneHot(I, E, [0,1])), e)),
  // [K, T]; or [T, K], so that NonZero lists (token, slot) pairs: with
  // Transpose<2,0,1> (HF DeepSeek-V3), or Equal(I, e) (torch.where(I == e)).
  if (const onnx::NodeProto *eq = defOp(nz.input(0), "Equal"))
    return matchEqualMask(*eq, m);
  const onnx::NodeProto *cast = defOp(nz.input(0), "Cast");
  if (!cast || attrInt(*cast, "to", 0) != onnx::TensorProto::BOOL)
    return false;
  const onnx::NodeProto *pick = defOp(cast->input(0), "Gather");
  if (!pick || attrInt(*pick, "axis", 0) != 0)
    return false;
  std::optional<ConstValue> e = constant(pick->input(1));
  if (!e || !e->ints || !e->dims.empty())
    return false;
  m.expert = (*e->ints)[0];
  const onnx::NodeProto *perm = defOp(pick->input(0), "Transpose");
  if (!perm || (attrInts(*perm, "perm") != Ints{2, 1, 0} &&
                attrInts(*perm, "perm") != Ints{2, 0, 1}))
    return false;
  m.tokenFirst = attrInts(*perm, "perm") == Ints{2, 0, 1};
  const onnx::NodeProto *oneHot = defOp(perm->input(0), "OneHot");
  if (!oneHot || oneHot->input_size() != 3 ||
      attrInt(*oneHot, "axis", -1) != -1 ||
      !isConstInts(oneHot->input(2), {0, 1}))
    return false;
  std::optional<Ints> depth = constInts(oneHot->input(1));
  if (!depth || depth->size() != 1 || (*depth)[0] <= 0)
    return false;
  m.experts = (*depth)[0];
  if (m.expert < 0 || m.expert >= m.experts)
    return false;
  m.indices = oneHot->input(0);
  for (const onnx::NodeProto *n : {cast, pick, perm, oneHot})
    m.maybeRemoved.insert(indexOf(n));
  return matchTopKIndices(m);
}

bool Matcher::matchEqualMask(const onnx::NodeProto &eq, Match &m) {
  // Equal(I, e), either way round; the number of experts is left to run.
  if (eq.input_size() != 2)
    return false;
  for (int side = 0; side < 2; ++side) {
    std::optional<ConstValue> e = constant(eq.input(1 - side));
    if (!e || !e->ints || e->ints->size() != 1 || (*e->ints)[0] < 0)
      continue;
    m.expert = (*e->ints)[0];
    m.experts = 0;
    m.tokenFirst = true;
    m.indices = eq.input(side);
    m.maybeRemoved.insert(indexOf(&eq));
    return matchTopKIndices(m);
  }
  return false;
}

bool Matcher::matchTopKIndices(Match &m) {
  // Distinct experts per token: the indices are a top-k's, along the last
  // axis (the importer checks that its input is [T, E]).
  const onnx::NodeProto *topk = defOp(m.indices, "TopK");
  if (!topk || topk->output_size() < 2 || topk->output(1) != m.indices ||
      attrInt(*topk, "axis", -1) != -1)
    return false;
  m.scores = topk->input(0);
  return true;
}

bool Matcher::matchNonZeroSplit(const onnx::NodeProto &nz, Match &m,
                                std::string &idx, std::string &tx) {
  // NonZero -> Transpose<1,0> -> Split<axis 1>[1,1] -> Squeeze[1] twice.
  const onnx::NodeProto *tp = onlyUser(nz.output(0), "Transpose");
  if (!tp || attrInts(*tp, "perm") != Ints{1, 0})
    return false;
  const onnx::NodeProto *split = onlyUser(tp->output(0), "Split");
  if (!split || attrInt(*split, "axis", 0) != 1 || split->output_size() != 2)
    return false;
  if (std::optional<Ints> sizes = axesOf(*split, "split")) {
    if (*sizes != Ints{1, 1})
      return false;
  } else if (split->input_size() > 1 && !split->input(1).empty()) {
    return false;
  }
  for (int i = 0; i < 2; ++i) {
    const onnx::NodeProto *sq = onlyUser(split->output(i), "Squeeze");
    if (!sq || axesOf(*sq, "axes") != Ints{1})
      return false;
    ((i == 1) != m.tokenFirst ? tx : idx) = sq->output(0);
    m.removed.insert(indexOf(sq));
  }
  m.removed.insert(indexOf(tp));
  m.removed.insert(indexOf(split));
  if (graphOutputs.contains(idx) || graphOutputs.contains(tx))
    return false;
  return true;
}

bool Matcher::matchTopXUsers(const std::string &tx, Match &m, TopXUsers &t) {
  // top_x: the token gather, the flat weight index, the scatter's rows.
  const onnx::NodeProto *&gather = t.gather, *&mulK = t.mulK, *&rowsU = t.rowsU;
  std::string &u = t.u;
  for (int i : usersOf(tx)) {
    const onnx::NodeProto &n = graph.node(i);
    if (n.op_type() == "Gather" && !gather && n.input_size() == 2 &&
        n.input(1) == tx && n.input(0) != tx && attrInt(n, "axis", 0) == 1)
      gather = &n;
    else if (n.op_type() == "Mul" && !mulK && n.input_size() == 2 &&
             (n.input(0) == tx) != (n.input(1) == tx) &&
             isShapeDim(n.input(0) == tx ? n.input(1) : n.input(0), 1, u, m))
      mulK = &n;
    else if (n.op_type() == "Unsqueeze" && !rowsU && n.input(0) == tx &&
             axesOf(n, "axes") == Ints{1})
      rowsU = &n;
    else
      return false;
  }
  if (!gather || !mulK || !rowsU)
    return false;
  for (const onnx::NodeProto *n : {gather, mulK, rowsU})
    m.removed.insert(indexOf(n));
  return true;
}

const onnx::NodeProto *Matcher::matchTokenGather(const onnx::NodeProto &gather,
                                                 Match &m) {
  // x_e = Reshape(Gather<axis 1>(Unsqueeze(X, [0]), top_x), [-1, H]).
  const onnx::NodeProto *ux = defOp(gather.input(0), "Unsqueeze");
  if (!ux || axesOf(*ux, "axes") != Ints{0})
    return nullptr;
  m.tokens = ux->input(0);
  m.maybeRemoved.insert(indexOf(ux));
  const onnx::NodeProto *xs = onlyUser(gather.output(0), "Reshape");
  if (!xs || attrInt(*xs, "allowzero", 0) != 0)
    return nullptr;
  std::optional<Ints> xShape = constInts(xs->input(1));
  if (!xShape || xShape->size() != 2 || (*xShape)[0] != -1 || (*xShape)[1] <= 0)
    return nullptr;
  m.hidden = (*xShape)[1];
  m.tokensNode = indexOf(xs);
  m.maybeRemoved.insert(defIndex(xs->input(1)));
  return xs;
}

const onnx::NodeProto *Matcher::matchWeightIndex(const std::string &idx,
                                                 const TopXUsers &t, Match &m) {
  // lin = Add(idx, top_x * K), K = Shape(U)[1], U = Unsqueeze(W, [2]).
  const onnx::NodeProto *lin = onlyUser(idx, "Add");
  if (!lin || lin->input_size() != 2 ||
      !((lin->input(0) == idx && lin->input(1) == t.mulK->output(0)) ||
        (lin->input(1) == idx && lin->input(0) == t.mulK->output(0))) ||
      usersOf(t.mulK->output(0)).size() != 1 ||
      graphOutputs.contains(t.mulK->output(0)))
    return nullptr;
  m.removed.insert(indexOf(lin));
  const onnx::NodeProto *unsq = defOp(t.u, "Unsqueeze");
  if (!unsq || axesOf(*unsq, "axes") != Ints{2})
    return nullptr;
  m.weights = unsq->input(0);
  m.maybeRemoved.insert(indexOf(unsq));
  return lin;
}

const onnx::NodeProto *
Matcher::matchWeightGather(const onnx::NodeProto &linNode, std::string &u,
                           Match &m) {
  const onnx::NodeProto *lin = &linNode;
  // w_e = Reshape(Reshape(Gather(Flatten<2>(U), lin), Concat(-1, U[2])),
  //               Concat(Shape(lin), U[2])).
  auto [wGather, linShape] =
      userAndShape(lin->output(0), [&](const onnx::NodeProto &n) {
        return n.op_type() == "Gather" && n.input_size() == 2 &&
               n.input(1) == lin->output(0) && attrInt(n, "axis", 0) == 0;
      });
  if (!wGather)
    return nullptr;
  const onnx::NodeProto *flat = defOp(wGather->input(0), "Flatten");
  if (!flat || flat->input(0) != u || attrInt(*flat, "axis", 1) != 2)
    return nullptr;
  m.maybeRemoved.insert(indexOf(flat));
  const onnx::NodeProto *r1 = onlyUser(wGather->output(0), "Reshape");
  if (!r1 || attrInt(*r1, "allowzero", 0) != 0)
    return nullptr;
  const onnx::NodeProto *c1 = defOp(r1->input(1), "Concat");
  if (!c1 || attrInt(*c1, "axis", -99) != 0 || c1->input_size() != 2 ||
      !isConstInts(c1->input(0), {-1}) || !isShapeDim(c1->input(1), 2, u, m))
    return nullptr;
  m.maybeRemoved.insert(indexOf(c1));
  m.maybeRemoved.insert(defIndex(c1->input(0)));
  const onnx::NodeProto *r2 = onlyUser(r1->output(0), "Reshape");
  if (!r2 || attrInt(*r2, "allowzero", 0) != 0)
    return nullptr;
  const onnx::NodeProto *c2 = defOp(r2->input(1), "Concat");
  if (!c2 || attrInt(*c2, "axis", -99) != 0 || c2->input_size() != 2 ||
      c2->input(0) != linShape->output(0) ||
      !isShapeDim(c2->input(1), 2, u, m) ||
      !onlyUser(linShape->output(0), "Concat") ||
      !onlyUser(c2->output(0), "Reshape"))
    return nullptr;
  for (const onnx::NodeProto *n : {wGather, linShape, r1, c2})
    m.removed.insert(indexOf(n));
  m.weightsNode = indexOf(r2);
  return r2;
}

const onnx::NodeProto *Matcher::matchScatter(const onnx::NodeProto &termNode,
                                             const onnx::NodeProto &rowsU,
                                             Match &m,
                                             const onnx::NodeProto *&expand) {
  const onnx::NodeProto *term = &termNode;
  // z = Cast*(term); z' = Expand(z, shape of one row); the scatter.
  std::string z = term->output(0);
  while (const onnx::NodeProto *c = onlyUser(z, "Cast"))
    z = c->output(0);
  m.product = z;
  expand = onlyUser(z, "Expand");
  if (!expand || expand->input(0) != z)
    return nullptr;
  const std::string &expanded = expand->output(0);
  auto [scatter, zShape] =
      userAndShape(expanded, [&](const onnx::NodeProto &n) {
        return n.op_type() == "ScatterElements" && n.input_size() == 3 &&
               n.input(2) == expanded && n.input(0) != expanded &&
               n.input(1) != expanded;
      });
  if (!scatter)
    return nullptr;
  const onnx::NodeProto *rows = onlyUser(zShape->output(0), "Expand");
  if (!rows || rows->input(0) != rowsU.output(0) ||
      rows->input(1) != zShape->output(0) ||
      !onlyUser(rowsU.output(0), "Expand") ||
      !onlyUser(rows->output(0), "ScatterElements") ||
      scatter->input(1) != rows->output(0))
    return nullptr;
  for (const onnx::NodeProto *n : {expand, zShape, rows})
    m.removed.insert(indexOf(n));
  return scatter;
}

bool Matcher::matchAccumulator(const onnx::NodeProto &scatterNode, Match &m) {
  const onnx::NodeProto *scatter = &scatterNode;
  // ScatterElements<axis 0>(zeros[T, H], rows, z'): index_add_ (rows are
  // distinct), with no reduction or with reduction add.
  std::string reduction = "none";
  for (const onnx::AttributeProto &a : scatter->attribute())
    if (a.name() == "reduction")
      reduction = a.s();
  if (attrInt(*scatter, "axis", 0) != 0 ||
      (reduction != "none" && reduction != "add"))
    return false;
  std::optional<ConstValue> zeros = constant(scatter->input(0));
  if (!zeros || zeros->dims.size() != 2 || !zeros->allZeroBits ||
      zeros->dims[0] <= 0 || zeros->dims[1] <= 0)
    return false;
  m.accRows = zeros->dims[0];
  m.accCols = zeros->dims[1];
  m.accType = zeros->dataType;
  m.scatterNode = indexOf(scatter);
  m.maybeRemoved.insert(defIndex(scatter->input(0)));
  return true;
}

bool Matcher::matchExpandShape(const onnx::NodeProto &expandNode, Match &m) {
  const onnx::NodeProto *expand = &expandNode;
  // The row shape z was expanded to: a constant [1, H'] (or [H']), or
  // Shape(Slice(acc, [0, 0], [1, >= H'], [0, 1])) (the accumulator's first
  // row; the importer checks that acc is [T, H']).
  const std::string &to = expand->input(1);
  if (std::optional<Ints> s = constInts(to)) {
    if (s->empty() || s->size() > 2 || s->back() != m.accCols ||
        (s->size() == 2 && (*s)[0] != 1))
      return false;
    m.maybeRemoved.insert(defIndex(to));
  } else {
    const onnx::NodeProto *shape = defOp(to, "Shape");
    const onnx::NodeProto *slice =
        shape ? defOp(shape->input(0), "Slice") : nullptr;
    if (!slice || hasAttr(*shape, "start") || hasAttr(*shape, "end") ||
        slice->input_size() < 4 || !isConstInts(slice->input(1), {0, 0}) ||
        !isConstInts(slice->input(3), {0, 1}) ||
        (slice->input_size() > 4 && !slice->input(4).empty() &&
         !isConstInts(slice->input(4), {1, 1})))
      return false;
    std::optional<Ints> ends = constInts(slice->input(2));
    if (!ends || ends->size() != 2 || (*ends)[0] != 1 || (*ends)[1] < m.accCols)
      return false;
    m.expandLike = slice->input(0);
    m.maybeRemoved.insert(indexOf(shape));
    m.maybeRemoved.insert(indexOf(slice));
    for (int i = 1; i < slice->input_size(); ++i)
      m.maybeRemoved.insert(defIndex(slice->input(i)));
  }
  return true;
}

onnx::NodeProto makeNode(const std::string &op, const std::string &name,
                         llvm::ArrayRef<std::string> inputs,
                         const std::string &output) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const std::string &in : inputs)
    n.add_input(in);
  n.add_output(output);
  return n;
}

onnx::NodeProto makeConstant(const std::string &name,
                             llvm::ArrayRef<int64_t> dims, int dataType,
                             llvm::ArrayRef<int64_t> ints) {
  onnx::NodeProto n = makeNode("Constant", name, {}, name);
  onnx::AttributeProto *a = n.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  onnx::TensorProto *t = a->mutable_t();
  t->set_data_type(dataType);
  int64_t count = 1;
  for (int64_t d : dims) {
    t->add_dims(d);
    count *= d;
  }
  if (dataType == onnx::TensorProto::INT64) {
    for (int64_t v : ints)
      t->add_int64_data(v);
  } else {
    // Zeros of a float type: all bits zero.
    int64_t size = dataType == onnx::TensorProto::DOUBLE  ? 8
                   : dataType == onnx::TensorProto::FLOAT ? 4
                                                          : 2;
    t->set_raw_data(std::string(count * size, '\0'));
  }
  return n;
}

std::vector<SparseDispatchCheck> Matcher::run() {
  std::vector<Match> matches;
  for (int i = 0; i < graph.node_size(); ++i)
    if (graph.node(i).op_type() == "NonZero" && graph.node(i).domain().empty())
      if (std::optional<Match> m = match(i))
        matches.push_back(std::move(*m));
  if (matches.empty())
    return {};
  // Equal(I, e) does not say how many experts there are: one past the
  // loop's last e (the importer checks it against the scores [T, E]).
  std::map<std::string, int64_t> loopExperts;
  for (const Match &m : matches)
    if (m.experts == 0)
      loopExperts[m.indices] = std::max(loopExperts[m.indices], m.expert + 1);
  for (Match &m : matches)
    if (m.experts == 0)
      m.experts = loopExperts[m.indices];

  // The rewritten node list, with what each replaced node becomes.
  std::vector<onnx::NodeProto> nodes(graph.node().begin(), graph.node().end());
  std::vector<std::vector<onnx::NodeProto>> before(nodes.size());
  std::vector<bool> gone(nodes.size(), false);
  // One dense weight matrix per router (indices, weights).
  std::map<std::pair<std::string, std::string>, std::string> dense;
  for (Match &m : matches) {
    std::string prefix = "/kiln_sparse_moe" + m.nonZero;
    auto key = std::make_pair(m.indices, m.weights);
    auto it = dense.find(key);
    if (it == dense.end()) {
      // Emitted just before the first weights use: I and W precede it.
      std::string d = prefix + "/dense";
      auto &pre = before[m.weightsNode];
      pre.push_back(
          makeConstant(d + "/zeros", {m.accRows, m.experts}, m.accType, {}));
      onnx::NodeProto s = makeNode("ScatterElements", d,
                                   {d + "/zeros", m.indices, m.weights}, d);
      onnx::AttributeProto *axis = s.add_attribute();
      axis->set_name("axis");
      axis->set_type(onnx::AttributeProto::INT);
      axis->set_i(1);
      pre.push_back(std::move(s));
      it = dense.emplace(key, d).first;
    }
    std::string col = prefix + "/column";
    auto &pre = before[m.weightsNode];
    int64_t i64 = onnx::TensorProto::INT64;
    pre.push_back(makeConstant(col + "/starts", {1}, i64, {m.expert}));
    pre.push_back(makeConstant(col + "/ends", {1}, i64, {m.expert + 1}));
    pre.push_back(makeConstant(col + "/axes", {1}, i64, {1}));
    pre.push_back(makeConstant(col + "/steps", {1}, i64, {1}));
    nodes[m.weightsNode] = makeNode("Slice", col,
                                    {it->second, col + "/starts", col + "/ends",
                                     col + "/axes", col + "/steps"},
                                    nodes[m.weightsNode].output(0));
    nodes[m.tokensNode] = makeNode("Identity", prefix + "/tokens", {m.tokens},
                                   nodes[m.tokensNode].output(0));
    nodes[m.scatterNode] =
        makeNode("Identity", prefix + "/scatter", {m.product},
                 nodes[m.scatterNode].output(0));
    for (int r : m.removed)
      gone[r] = true;
  }

  // Drop the pattern's nodes nothing reads any more.
  std::set<int> candidates;
  for (Match &m : matches)
    candidates.insert(m.maybeRemoved.begin(), m.maybeRemoved.end());
  auto reads = [&](const std::string &v) {
    if (graphOutputs.contains(v))
      return true;
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (gone[i])
        continue;
      for (const auto &n : before[i])
        if (llvm::is_contained(n.input(), v))
          return true;
      if (llvm::is_contained(nodes[i].input(), v))
        return true;
    }
    return false;
  };
  // The Constant nodes (axes, sizes) that only removed nodes read go too.
  auto addConstantInputs = [&](int i) {
    for (const std::string &in : nodes[i].input())
      if (const onnx::NodeProto *c = defOp(in, "Constant"))
        candidates.insert(indexOf(c));
  };
  for (size_t i = 0; i < nodes.size(); ++i)
    if (gone[i])
      addConstantInputs(i);
  for (bool changed = true; changed;) {
    changed = false;
    for (int c : std::vector<int>(candidates.begin(), candidates.end()))
      if (!gone[c] && llvm::none_of(nodes[c].output(), reads)) {
        gone[c] = changed = true;
        addConstantInputs(c);
      }
  }
  // Every value of a removed node must be unread now (the matching
  // accounted for all its uses); otherwise give up on the whole rewrite.
  for (size_t i = 0; i < nodes.size(); ++i)
    if (gone[i] && llvm::any_of(nodes[i].output(), reads))
      return {};

  graph.clear_node();
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (onnx::NodeProto &n : before[i])
      *graph.add_node() = std::move(n);
    if (!gone[i])
      *graph.add_node() = std::move(nodes[i]);
  }

  std::vector<SparseDispatchCheck> checks;
  for (const Match &m : matches)
    checks.push_back(static_cast<const SparseDispatchCheck &>(m));
  return checks;
}

} // namespace

std::vector<SparseDispatchCheck>
kiln::raising::rewriteSparseMoEDispatch(onnx::GraphProto &graph) {
  return Matcher(graph).run();
}
