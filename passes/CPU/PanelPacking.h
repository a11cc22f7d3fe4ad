//===- PanelPacking.h - Weights as column panels, and their products -*- C++ -*-===//
//
// The layout the CPU micro-kernel streams: a weight of N columns stored as
// panels [N / P][K][P], P columns each (one vector register), so that a
// register block reads each panel front to back. Shared by
// kiln-cpu-pack-matmul-weights (plain matmuls) and
// kiln-cpu-convert-moe-experts-to-grouped-matmuls (expert weights).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_CPU_PANELPACKING_H
#define KILN_PASSES_CPU_PANELPACKING_H

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"

#include <optional>
#include <vector>

namespace kiln {

/// The shape of a weight to pack: `batch` matrices of K x N, stored
/// [batch][K][N], or [batch][N][K] when `transposed` (PyTorch's Linear).
struct PanelPackingShape {
  int64_t batch, k, n;
  bool transposed;
};

/// `weight`'s elements rearranged as [batch][N / P][K][P] in a new
/// constant blob, or std::nullopt when its data cannot be read. N must be
/// a multiple of `panelWidth`.
std::optional<mlir::AsmResourceBlob>
packColumnPanels(mlir::ElementsAttr weight, const PanelPackingShape &shape,
                 int64_t panelWidth);

/// `lhs` [M, K] times the panels [N / P, K, P] of a K x N matrix,
/// accumulated into `init` [M, N]: a linalg.generic over (m, nb, k, ni)
/// writing an [M, N / P, P] view of `init`, collapsed back to [M, N].
mlir::Value buildPanelMatmul(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value lhs, mlir::Value panels,
                             mlir::Value init);

/// Builds `result` [M, panels * width] one column panel at a time, and
/// each panel by rows: `rowBlock(b, p, m0, n, block)` fills rows
/// [m0, m0 + n) of panel `p`'s [M, width] `block` (p and m0 are indices).
/// Full blocks of `rows` rows come first, then the remaining rows one at a
/// time. The panels are an scf.forall (OpenMP threads) when `parallel`, an
/// scf.for otherwise. The quantized and the integer matmul kernels share it.
mlir::Value buildPanelLoop(
    mlir::OpBuilder &b, mlir::Location loc, mlir::RankedTensorType resultType,
    int64_t width, int64_t rows, bool parallel,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value p,
                                   mlir::Value m0, int64_t n,
                                   mlir::Value block)>
        rowBlock);

} // namespace kiln

#endif // KILN_PASSES_CPU_PANELPACKING_H
