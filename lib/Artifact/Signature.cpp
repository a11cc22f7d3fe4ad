//===- Signature.cpp - Read an entry function's artifact signature --------===//

#include "kiln/Artifact/Signature.h"

#include "kiln/dialects/Kiln/KilnConstants.h"
#include "kiln/dialects/Kiln/SymbolicDims.h"
#include "kiln/artifact_format.h"
#include "kiln/dtype.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinTypes.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace kiln;

/// The artifact dtype of an MLIR element type (integers read as signed).
static int dtypeFor(Type t) {
  if (t.isF32()) return KILN_DTYPE_FLOAT32;
  if (t.isF64()) return KILN_DTYPE_FLOAT64;
  if (t.isF16()) return KILN_DTYPE_FLOAT16;
  if (t.isBF16()) return KILN_DTYPE_BFLOAT16;
  if (t.isInteger(1)) return KILN_DTYPE_BOOL;
  if (t.isInteger(8)) return KILN_DTYPE_INT8;
  if (t.isInteger(16)) return KILN_DTYPE_INT16;
  if (t.isInteger(32)) return KILN_DTYPE_INT32;
  if (t.isInteger(64)) return KILN_DTYPE_INT64;
  if (t.isInteger(4)) return KILN_DTYPE_INT4;
  if (t.isInteger(2)) return KILN_DTYPE_INT2;
  if (isa<Float8E4M3FNType>(t)) return KILN_DTYPE_FLOAT8E4M3FN;
  if (isa<Float8E4M3FNUZType>(t)) return KILN_DTYPE_FLOAT8E4M3FNUZ;
  if (isa<Float8E5M2Type>(t)) return KILN_DTYPE_FLOAT8E5M2;
  if (isa<Float8E5M2FNUZType>(t)) return KILN_DTYPE_FLOAT8E5M2FNUZ;
  if (isa<Float8E8M0FNUType>(t)) return KILN_DTYPE_FLOAT8E8M0;
  if (isa<Float4E2M1FNType>(t)) return KILN_DTYPE_FLOAT4E2M1;
  return KILN_DTYPE_INVALID;
}

/// The recorded dtype when it agrees in size with the element type (it keeps
/// signedness the MLIR type lost), else the element type's own.
static int dtypeOf(Type elt, DictionaryAttr attrs) {
  int own = dtypeFor(elt);
  if (attrs)
    if (auto recorded = attrs.getAs<IntegerAttr>("kiln.dtype")) {
      int d = (int)recorded.getInt();
      if (d != 0 && kiln_dtype_size(d) == kiln_dtype_size(own))
        return d;
    }
  return own;
}

static std::string nameOf(DictionaryAttr attrs, const std::string &fallback) {
  if (attrs)
    if (auto name = attrs.getAs<StringAttr>("kiln.name"))
      return name.str();
  return fallback;
}

/// Symbol `index`'s artifact dim (kiln/artifact_format.h).
static int64_t symbolDim(size_t index) { return -int64_t(index) - 1; }

/// Reads `kiln.dim_ranges`, the entry's symbols, in the dictionary's
/// (name-sorted, so deterministic) order: symbol k is its k-th entry.
static LogicalResult readDimRanges(func::FuncOp entry,
                                   std::vector<SymbolSignature> &symbols) {
  Attribute attr = entry->getAttr("kiln.dim_ranges");
  if (!attr)
    return success();
  auto ranges = dyn_cast<DictionaryAttr>(attr);
  if (!ranges)
    return emitError(entry.getLoc())
           << "kiln.dim_ranges must be a dictionary of symbol name to "
              "array<i64: min, max>, got "
           << attr;
  for (NamedAttribute range : ranges) {
    auto bounds = dyn_cast<DenseI64ArrayAttr>(range.getValue());
    StringRef name = range.getName().getValue();
    if (!bounds || bounds.size() != 2)
      return emitError(entry.getLoc())
             << "kiln.dim_ranges: symbol '" << name
             << "' must map to array<i64: min, max>, got " << range.getValue();
    int64_t min = bounds[0], max = bounds[1];
    if (min < 0 || min > max || max > KILN_MAX_SYMBOL_VALUE)
      return emitError(entry.getLoc())
             << "kiln.dim_ranges: symbol '" << name << "' has range " << min
             << ".." << max << "; a range needs 0 <= min <= max <= "
             << KILN_MAX_SYMBOL_VALUE;
    symbols.push_back({name.str(), min, max});
  }
  return success();
}

/// Appends `kiln.computed_dims`, the output dims only a run knows, after
/// the symbols the inputs bind.
static LogicalResult readComputedDims(func::FuncOp entry,
                                      std::vector<SymbolSignature> &symbols) {
  Attribute attr = entry->getAttr(kComputedDimsAttr);
  if (!attr)
    return success();
  auto names = dyn_cast<ArrayAttr>(attr);
  if (!names)
    return emitError(entry.getLoc())
           << "kiln.computed_dims must be an array of names, got " << attr;
  for (Attribute a : names) {
    auto name = dyn_cast<StringAttr>(a);
    if (!name || name.getValue().empty() ||
        llvm::any_of(symbols, [&](const SymbolSignature &s) {
          return s.name == name.getValue();
        }))
      return emitError(entry.getLoc())
             << "kiln.computed_dims: " << a
             << " is not a new, non-empty symbol name";
    symbols.push_back({name.str(), 0, KILN_MAX_SYMBOL_VALUE, true});
  }
  return success();
}

/// Whether a tensor may have symbolic dims: inputs and outputs may, weights
/// may not; only outputs may have computed ones.
enum class DimKinds { StaticOnly, StaticOrSymbolic, AnyDynamic };

/// The artifact dims of `tensor`: each static dim as it is, each dynamic
/// dim as the symbol its `kiln.dim_symbols` entry names.
static LogicalResult dimsOf(func::FuncOp entry, RankedTensorType tensor,
                            DictionaryAttr attrs, StringRef name,
                            ArrayRef<SymbolSignature> symbols, bool outputSide,
                            std::vector<int64_t> &dims) {
  ArrayRef<int64_t> shape = tensor.getShape();
  dims.assign(shape.begin(), shape.end());
  if (tensor.hasStaticShape())
    return success(); // any kiln.dim_symbols holds only ""
  auto names = attrs ? attrs.getAs<ArrayAttr>("kiln.dim_symbols") : ArrayAttr();
  if (!names || names.size() != shape.size())
    return emitError(entry.getLoc())
           << "'" << name << "' of type " << tensor
           << " needs kiln.dim_symbols, one string per dimension naming the "
              "symbol of each dynamic one";
  for (auto [i, dim] : llvm::enumerate(shape)) {
    auto symbol = dyn_cast<StringAttr>(names[i]);
    if (!symbol)
      return emitError(entry.getLoc()) << "'" << name << "' kiln.dim_symbols entry "
                               << i << " must be a string, got " << names[i];
    if (!ShapedType::isDynamic(dim)) {
      if (!symbol.getValue().empty())
        return emitError(entry.getLoc())
               << "'" << name << "' dim " << i << " is static (" << dim
               << ") but kiln.dim_symbols names symbol '" << symbol.getValue()
               << "' for it";
      continue;
    }
    if (symbol.getValue().empty())
      return emitError(entry.getLoc()) << "'" << name << "' dim " << i
                               << " is dynamic but kiln.dim_symbols names no "
                                  "symbol for it";
    const auto *found = llvm::find_if(symbols, [&](const SymbolSignature &s) {
      return s.name == symbol.getValue();
    });
    if (found == symbols.end())
      return emitError(entry.getLoc())
             << "'" << name << "' dim " << i << " names symbol '"
             << symbol.getValue() << "', which kiln.dim_ranges does not define";
    if (found->computed && !outputSide)
      return emitError(entry.getLoc())
             << "'" << name << "' dim " << i << " names '" << found->name
             << "', which only a run computes; only outputs may";
    dims[i] = symbolDim(size_t(found - symbols.begin()));
  }
  return success();
}

static LogicalResult signatureOf(func::FuncOp entry, Type type,
                                 DictionaryAttr attrs,
                                 const std::string &fallbackName,
                                 DimKinds allowed,
                                 ArrayRef<SymbolSignature> symbols,
                                 TensorSignature &out) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  out.name = nameOf(attrs, fallbackName);
  if (!tensor ||
      (allowed == DimKinds::StaticOnly && !tensor.hasStaticShape()))
    return emitError(entry.getLoc()) << "'" << out.name
                             << "' must be a statically shaped tensor, got "
                             << type;
  out.dtype = dtypeOf(tensor.getElementType(), attrs);
  if (out.dtype == KILN_DTYPE_INVALID)
    return emitError(entry.getLoc()) << "'" << out.name << "' has element type "
                             << tensor.getElementType()
                             << ", which artifacts cannot carry";
  return dimsOf(entry, tensor, attrs, out.name, symbols,
                allowed == DimKinds::AnyDynamic, out.dims);
}

/// The runtime learns a symbol's value from the inputs' shapes alone, so a
/// symbol that only outputs use could never be given one.
static LogicalResult checkSymbolsOccurInInputs(func::FuncOp entry,
                                               const ArtifactContents &c) {
  std::vector<bool> used(c.symbols.size(), false);
  for (const TensorSignature &input : c.inputs)
    for (int64_t dim : input.dims)
      if (dim < 0)
        used[size_t(-(dim + 1))] = true;
  for (auto [symbol, isUsed] : llvm::zip(c.symbols, used))
    if (!isUsed && !symbol.computed)
      return emitError(entry.getLoc())
             << "symbol '" << symbol.name
             << "' occurs in no input's shape; the runtime takes each "
                "symbol's value from the inputs";
  return success();
}

/// Bits per element of the element types stored several to a byte.
static unsigned subByteBits(Type t) {
  unsigned width = t.getIntOrFloatBitWidth();
  return width > 1 && width < 8 ? width : 0;
}

/// Packs one-byte-per-element values `bits` wide, element 0 in the low bits
/// of byte 0 (ONNX's layout, and what the code's unpacking reads).
static std::vector<char> packSubByte(ArrayRef<char> bytes, int64_t n,
                                     unsigned bits) {
  unsigned perByte = 8 / bits, mask = (1u << bits) - 1;
  std::vector<char> packed((n * bits + 7) / 8, 0);
  for (int64_t i = 0; i < n; ++i) {
    unsigned v = (unsigned)(unsigned char)bytes[i];
    packed[i / perByte] |= (char)((v & mask) << (bits * (i % perByte)));
  }
  return packed;
}

/// Dense row-major bytes of a weight (bools one byte each; sub-byte types
/// packed), where they lie when possible.
static LogicalResult weightBytes(Location loc, ElementsAttr value,
                                 ArtifactWeight &w) {
  std::vector<char> storage;
  std::optional<ArrayRef<char>> bytes = constantBytes(value, storage);
  if (!bytes)
    return emitError(loc) << "weight data is missing or does not fit its type";
  if (unsigned bits = subByteBits(value.getElementType()))
    w.owned = packSubByte(*bytes, value.getNumElements(), bits);
  else if (!storage.empty())
    w.owned = std::move(storage);
  else
    w.view = *bytes;
  return success();
}

/// `kiln.generation` and the `kiln.state` inputs: the GENERATION section.
static LogicalResult readGeneration(func::FuncOp entry,
                                    ArtifactContents &contents) {
  auto attrs = entry->getAttrOfType<DictionaryAttr>("kiln.generation");
  if (!attrs)
    return success();
  // Each reader stores a field of `attrs` and says whether it was there.
  auto readInt = [&](StringRef name, int64_t &to) {
    auto attr = attrs.getAs<IntegerAttr>(name);
    if (attr)
      to = attr.getInt();
    return bool(attr);
  };
  auto readString = [&](StringRef name, std::string &to) {
    auto attr = attrs.getAs<StringAttr>(name);
    if (attr)
      to = attr.str();
    return bool(attr);
  };
  GenerationSignature g;
  if (!readInt("max_seq", g.maxSeq) || !readString("tokens", g.tokens) ||
      !readString("positions", g.positions) || !readString("logits", g.logits))
    return emitError(entry.getLoc())
           << "kiln.generation needs max_seq, tokens, positions and logits, "
              "got "
           << attrs;
  bool paged = readInt("kv_block_size", g.kvBlockSize);
  if (paged && (!readInt("kv_blocks", g.kvBlocks) ||
                !readString("block_table", g.blockTable) || g.kvBlockSize < 1 ||
                g.kvBlocks < 1))
    return emitError(entry.getLoc())
           << "kiln.generation's paged cache needs kv_block_size >= 1, "
              "kv_blocks >= 1 and block_table, got "
           << attrs;
  bool windowed = readInt("window_blocks", g.windowBlocks);
  if (windowed && (!paged || g.windowBlocks < 1 ||
                   !readString("window_block_table", g.windowBlockTable)))
    return emitError(entry.getLoc())
           << "kiln.generation's windowed pools need a paged cache, "
              "window_blocks >= 1 and window_block_table, got "
           << attrs;
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    if (!entry.getArgAttr(i, "kiln.state"))
      continue;
    std::string name =
        nameOf(entry.getArgAttrDict(i), "input" + std::to_string(i));
    if (entry.getArgAttr(i, "kiln.window_state")) {
      if (!windowed)
        return emitError(entry.getLoc())
               << "state input '" << name
               << "' is a windowed pool, but kiln.generation has no "
                  "window_blocks";
      g.windowStateInputs.push_back(name);
    }
    g.stateInputs.push_back(std::move(name));
  }
  contents.generation = std::move(g);
  return success();
}

/// `kiln.values` (the importer's, GraphValues.h): the VALUES section. Each
/// tensor must name an input or output of its side.
static LogicalResult readValues(func::FuncOp entry,
                                ArtifactContents &contents) {
  Attribute attr = entry->getAttr("kiln.values");
  if (!attr)
    return success();
  auto records = dyn_cast<ArrayAttr>(attr);
  if (!records)
    return emitError(entry.getLoc())
           << "kiln.values must be an array of dictionaries, got " << attr;
  for (Attribute a : records) {
    auto record = dyn_cast<DictionaryAttr>(a);
    auto name = record ? record.getAs<StringAttr>("name") : StringAttr();
    auto type = record ? record.getAs<StringAttr>("type") : StringAttr();
    auto output = record ? record.getAs<BoolAttr>("output") : BoolAttr();
    auto present = record ? record.getAs<BoolAttr>("present") : BoolAttr();
    auto sequence = record ? record.getAs<BoolAttr>("sequence") : BoolAttr();
    auto tensors = record ? record.getAs<ArrayAttr>("tensors") : ArrayAttr();
    if (!name || !type || !output || !present || !sequence || !tensors)
      return emitError(entry.getLoc())
             << "kiln.values: " << a
             << " needs name, output, type, present, sequence and tensors";
    ValueSignature v{name.str(),         output.getValue(), sequence.getValue(),
                     present.getValue(), type.str(),        {}};
    const auto &side = v.output ? contents.outputs : contents.inputs;
    for (Attribute t : tensors) {
      auto tensor = dyn_cast<StringAttr>(t);
      if (!tensor || llvm::none_of(side, [&](const TensorSignature &s) {
            return s.name == tensor.getValue();
          }))
        return emitError(entry.getLoc())
               << "kiln.values: '" << v.name << "' names " << t
               << ", which is not one of the entry's "
               << (v.output ? "outputs" : "inputs");
      v.tensors.push_back(tensor.str());
    }
    contents.values.push_back(std::move(v));
  }
  return success();
}

LogicalResult kiln::readSignature(func::FuncOp entry,
                                  ArtifactContents &contents) {
  if (failed(readDimRanges(entry, contents.symbols)) ||
      failed(readComputedDims(entry, contents.symbols)))
    return failure();
  Location loc = entry.getLoc();
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    DictionaryAttr attrs = entry.getArgAttrDict(i);
    Type type = entry.getArgumentTypes()[i];
    if (auto weight = attrs ? attrs.getAs<ElementsAttr>("kiln.weight")
                            : ElementsAttr()) {
      ArtifactWeight w;
      if (failed(signatureOf(entry, type, attrs, "weight" + std::to_string(i),
                             DimKinds::StaticOnly, {}, w.tensor)) ||
          failed(weightBytes(loc, weight, w)))
        return failure();
      uint64_t elements = 1;
      for (int64_t d : w.tensor.dims)
        elements *= d;
      // The runtime's rule: sub-byte weights packed, others dense.
      uint64_t expected = kiln_dtype_packed_size(w.tensor.dtype, elements);
      if (w.data().size() != expected)
        return emitError(loc) << "weight '" << w.tensor.name << "' holds "
                              << w.data().size() << " bytes, expected "
                              << expected;
      contents.weights.push_back(std::move(w));
      continue;
    }
    TensorSignature t;
    if (failed(signatureOf(entry, type, attrs,
                           "input" + std::to_string(contents.inputs.size()),
                           DimKinds::StaticOrSymbolic, contents.symbols, t)))
      return failure();
    contents.inputs.push_back(std::move(t));
  }
  for (unsigned i = 0; i < entry.getNumResults(); ++i) {
    // A state result is written back into its input (see
    // kiln-write-state-results-in-place); it is not an output.
    if (entry.getResultAttr(i, "kiln.state_of"))
      continue;
    TensorSignature t;
    if (failed(signatureOf(entry, entry.getResultTypes()[i],
                           entry.getResultAttrDict(i),
                           "output" + std::to_string(i),
                           DimKinds::AnyDynamic, contents.symbols, t)))
      return failure();
    contents.outputs.push_back(std::move(t));
    // A value kiln-compile --dump kept: the dumps follow the outputs.
    if (auto node = entry.getResultAttrOfType<StringAttr>(i, "kiln.dump_node"))
      contents.dumpNodes.push_back(node.str());
    else if (!contents.dumpNodes.empty())
      return entry.emitError("output ")
             << i << " follows a dumped value (dumps come last)";
  }
  if (failed(readGeneration(entry, contents)) ||
      failed(readValues(entry, contents)))
    return failure();
  return checkSymbolsOccurInInputs(entry, contents);
}
