//===- MmaSync.h - What the mma.sync kernel generators share ----*- C++ -*-===//
//
// The tensor-core generators for sm_80+ (the matmul of
// kiln-gpu-convert-matmuls-to-mma-kernels, the quantized linear of
// kiln-gpu-convert-quantized-linears-to-mma-kernels) build the same inner
// loop: operand tiles staged in two shared-memory stages, one warp's
// m16n8k16 fragments read from them with ldmatrix, mma.sync with f32
// accumulators. They differ in how a stage is filled (cp.async of both
// operands, or cp.async of the activations and weights dequantized in
// registers) and in the epilogue.
//
// Fragment layouts follow the PTX ISA's tables for mma.m16n8k16: lane l
// holds C rows l/4 and l/4+8, columns 2*(l%4) and 2*(l%4)+1, as a
// vector<2x2xf32> (row half, column).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PASSES_GPU_MMASYNC_H
#define KILN_PASSES_GPU_MMASYNC_H

#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallVector.h"

namespace kiln {

/// How a B operand tile lies in shared memory.
enum class MmaTileLayout {
  /// [stage][k][n] rows: read with ldmatrix.trans.
  KRows,
  /// [stage][n][k] rows (the weights of a linear, [N, K]): read like A.
  NRows,
};

/// One warp's m16n8k16 fragments of f16 or bf16 operands: reads them from
/// shared-memory tiles with ldmatrix and multiplies them with mma.sync.
/// Build one where the fragments are read (it computes the lane's
/// ldmatrix offsets there).
class MmaSyncWarp {
public:
  MmaSyncWarp(mlir::ImplicitLocOpBuilder &b, mlir::Type elementType,
              mlir::Value lane);

  /// The A fragment (vector<4x2xT>, ldmatrix.x4) of rows [row0, row0 + 16)
  /// and columns [k0, k0 + 16) of `tile[stage]`, a [stage][m][k] buffer.
  mlir::Value loadA(mlir::Value tile, mlir::Value stage, mlir::Value row0,
                    mlir::Value k0);

  /// The B fragment (vector<2x2xT>, ldmatrix.x2) of k [k0, k0 + 16) and
  /// columns [col0, col0 + 8) of `tile[stage]`, laid out as `layout` says.
  mlir::Value loadB(mlir::Value tile, mlir::Value stage, mlir::Value k0,
                    mlir::Value col0, MmaTileLayout layout);

  /// c + a * b: nvgpu.mma.sync for f16; nvvm.mma.sync on registers of two
  /// bf16 each for bf16 (MLIR 22.1's nvgpu.mma.sync cannot deduce bf16
  /// PTX types).
  mlir::Value mma(mlir::Value a, mlir::Value bFragment, mlir::Value c);

private:
  mlir::ImplicitLocOpBuilder &b;
  mlir::Type elementType;
  mlir::Value lane;
  /// ldmatrix row and column offsets of this lane: x4 (rows lane % 16,
  /// columns 8 * (lane / 16)), x2 on [n][k] rows (rows lane % 8, columns
  /// 8 * ((lane / 8) % 2)); the latter made on first use.
  mlir::Value lane16, laneHalf, lane8, laneKHalf;
};

/// The two-stage K loop of a tiled product with `kTiles` K tiles:
///
///   group = issue(0, 0); acc = init()
///   for kt in [0, kTiles - 1):
///     pending = issue(kt + 1, (kt + 1) % 2)
///     wait until only `pending` is in flight; barrier
///     acc = compute(kt % 2, acc); barrier
///   wait for everything; barrier; acc = compute((kTiles - 1) % 2, acc)
///
/// `issue` starts filling a stage and returns the cp.async group of its
/// copies (stores it makes directly are visible after the barrier).
/// Returns the accumulators.
llvm::SmallVector<mlir::Value> buildTwoStageKLoop(
    mlir::ImplicitLocOpBuilder &b, int64_t kTiles,
    llvm::function_ref<mlir::Value(mlir::Value kt, mlir::Value stage)> issue,
    llvm::function_ref<llvm::SmallVector<mlir::Value>()> init,
    llvm::function_ref<llvm::SmallVector<mlir::Value>(
        mlir::Value stage, llvm::SmallVector<mlir::Value> acc)>
        compute);

} // namespace kiln

#endif // KILN_PASSES_GPU_MMASYNC_H
