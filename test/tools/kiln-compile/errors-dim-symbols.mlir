// The artifact signature of an entry with symbolic dims (kiln.dim_ranges on
// the function, kiln.dim_symbols on its arguments and results): each rule
// readSignature enforces is one line, and no artifact is left behind.
// RUN: not kiln-compile %s --entry=no_symbol -o %t.kiln 2>&1 | FileCheck %s --check-prefix=NO-SYMBOL
// RUN: not test -e %t.kiln
// RUN: not kiln-compile %s --entry=empty_symbol -o %t.kiln 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not kiln-compile %s --entry=unknown_symbol -o %t.kiln 2>&1 | FileCheck %s --check-prefix=UNKNOWN
// RUN: not kiln-compile %s --entry=static_with_symbol -o %t.kiln 2>&1 | FileCheck %s --check-prefix=STATIC
// RUN: not kiln-compile %s --entry=output_only -o %t.kiln 2>&1 | FileCheck %s --check-prefix=OUTPUT-ONLY
// RUN: not kiln-compile %s --entry=bad_range -o %t.kiln 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not kiln-compile %s --entry=huge_range -o %t.kiln 2>&1 | FileCheck %s --check-prefix=HUGE
// RUN: not kiln-compile %s --entry=not_a_pair -o %t.kiln 2>&1 | FileCheck %s --check-prefix=PAIR
// RUN: not kiln-compile %s --entry=not_a_dictionary -o %t.kiln 2>&1 | FileCheck %s --check-prefix=DICT
// RUN: not kiln-compile %s --entry=dynamic_weight -o %t.kiln 2>&1 | FileCheck %s --check-prefix=WEIGHT
// RUN: not test -e %t.kiln

// NO-SYMBOL: kiln-compile: error: {{.*}}errors-dim-symbols.mlir:{{[0-9]+}}:{{[0-9]+}}: 'x' of type 'tensor<?x3xf32>' needs kiln.dim_symbols, one string per dimension naming the symbol of each dynamic one
func.func @no_symbol(%x: tensor<?x3xf32> {kiln.name = "x"}) -> tensor<?x3xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}} {
  return %x : tensor<?x3xf32>
}

// EMPTY: error: {{.*}}: 'x' dim 0 is dynamic but kiln.dim_symbols names no symbol for it
func.func @empty_symbol(%x: tensor<?x3xf32> {kiln.name = "x", kiln.dim_symbols = ["", ""]}) -> tensor<?x3xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}} {
  return %x : tensor<?x3xf32>
}

// UNKNOWN: error: {{.*}}: 'x' dim 0 names symbol 'seq', which kiln.dim_ranges does not define
func.func @unknown_symbol(%x: tensor<?x3xf32> {kiln.name = "x", kiln.dim_symbols = ["seq", ""]}) -> tensor<?x3xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}} {
  return %x : tensor<?x3xf32>
}

// STATIC: error: {{.*}}: 'x' dim 1 is static (3) but kiln.dim_symbols names symbol 'batch' for it
func.func @static_with_symbol(%x: tensor<?x3xf32> {kiln.name = "x", kiln.dim_symbols = ["batch", "batch"]}) -> tensor<?x3xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}} {
  return %x : tensor<?x3xf32>
}

// OUTPUT-ONLY: error: {{.*}}: symbol 'seq' occurs in no input's shape; the runtime takes each symbol's value from the inputs
func.func @output_only(%x: tensor<?xf32> {kiln.name = "x", kiln.dim_symbols = ["batch"]})
    -> (tensor<?xf32> {kiln.name = "y", kiln.dim_symbols = ["seq"]})
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>, seq = array<i64: 1, 64>}} {
  return %x : tensor<?xf32>
}

// RANGE: error: {{.*}}: kiln.dim_ranges: symbol 'batch' has range 8..4; a range needs 0 <= min <= max <= 1099511627776
func.func @bad_range(%x: tensor<?xf32> {kiln.name = "x", kiln.dim_symbols = ["batch"]}) -> tensor<?xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 8, 4>}} {
  return %x : tensor<?xf32>
}

// HUGE: error: {{.*}}: kiln.dim_ranges: symbol 'batch' has range 0..1099511627777; a range needs
func.func @huge_range(%x: tensor<?xf32> {kiln.name = "x", kiln.dim_symbols = ["batch"]}) -> tensor<?xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 0, 1099511627777>}} {
  return %x : tensor<?xf32>
}

// PAIR: error: {{.*}}: kiln.dim_ranges: symbol 'batch' must map to array<i64: min, max>, got array<i64: 1>
func.func @not_a_pair(%x: tensor<?xf32> {kiln.name = "x", kiln.dim_symbols = ["batch"]}) -> tensor<?xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1>}} {
  return %x : tensor<?xf32>
}

// DICT: error: {{.*}}: kiln.dim_ranges must be a dictionary of symbol name to array<i64: min, max>, got ["batch"]
func.func @not_a_dictionary(%x: tensor<?xf32> {kiln.name = "x", kiln.dim_symbols = ["batch"]}) -> tensor<?xf32>
    attributes {kiln.dim_ranges = ["batch"]} {
  return %x : tensor<?xf32>
}

// WEIGHT: error: {{.*}}: 'w' must be a statically shaped tensor, got 'tensor<?xf32>'
func.func @dynamic_weight(%w: tensor<?xf32> {kiln.name = "w", kiln.weight = dense<1.0> : tensor<2xf32>}) -> tensor<?xf32>
    attributes {kiln.dim_ranges = {batch = array<i64: 1, 64>}} {
  return %w : tensor<?xf32>
}

func.func @main(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}
