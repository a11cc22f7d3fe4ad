//===- MmaSync.cpp - What the mma.sync kernel generators share ------------===//

#include "MmaSync.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace kiln;

static Value index(ImplicitLocOpBuilder &b, int64_t v) {
  return arith::ConstantIndexOp::create(b, v);
}

MmaSyncWarp::MmaSyncWarp(ImplicitLocOpBuilder &b, Type elementType, Value lane)
    : b(b), elementType(elementType), lane(lane) {
  lane16 = arith::RemUIOp::create(b, lane, index(b, 16));
  laneHalf = arith::MulIOp::create(
      b, arith::DivUIOp::create(b, lane, index(b, 16)), index(b, 8));
}

Value MmaSyncWarp::loadA(Value tile, Value stage, Value row0, Value k0) {
  return nvgpu::LdMatrixOp::create(
      b, VectorType::get({4, 2}, elementType), tile,
      ValueRange{stage, arith::AddIOp::create(b, row0, lane16),
                 arith::AddIOp::create(b, k0, laneHalf)},
      /*transpose=*/false, /*numTiles=*/4);
}

Value MmaSyncWarp::loadB(Value tile, Value stage, Value k0, Value col0,
                         MmaTileLayout layout) {
  auto type = VectorType::get({2, 2}, elementType);
  if (layout == MmaTileLayout::KRows)
    return nvgpu::LdMatrixOp::create(
        b, type, tile,
        ValueRange{stage, arith::AddIOp::create(b, k0, lane16), col0},
        /*transpose=*/true, /*numTiles=*/2);
  // Two 8x8 matrices of [n][k] rows: lanes 0-7 address k [k0, k0 + 8),
  // lanes 8-15 k [k0 + 8, k0 + 16) (the addresses of lanes 16-31 are
  // ignored by .x2).
  if (!lane8) {
    lane8 = arith::RemUIOp::create(b, lane, index(b, 8));
    laneKHalf = arith::MulIOp::create(
        b, arith::DivUIOp::create(b, lane16, index(b, 8)), index(b, 8));
  }
  return nvgpu::LdMatrixOp::create(
      b, type, tile,
      ValueRange{stage, arith::AddIOp::create(b, col0, lane8),
                 arith::AddIOp::create(b, k0, laneKHalf)},
      /*transpose=*/false, /*numTiles=*/2);
}

Value MmaSyncWarp::mma(Value a, Value bFragment, Value c) {
  if (elementType.isF16())
    return nvgpu::MmaSyncOp::create(b, a, bFragment, c,
                                    ArrayRef<int64_t>{16, 8, 16});
  auto regs = [&](Value v, int64_t n) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < n; ++i) {
      Value row = vector::ExtractOp::create(b, v, ArrayRef<int64_t>{i});
      Value word = vector::BitCastOp::create(
          b, VectorType::get({1}, b.getI32Type()), row);
      out.push_back(vector::ExtractOp::create(b, word, ArrayRef<int64_t>{0}));
    }
    return out;
  };
  SmallVector<Value> cRegs;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 2; ++j)
      cRegs.push_back(vector::ExtractOp::create(b, c, ArrayRef<int64_t>{i, j}));
  Type f32 = b.getF32Type();
  auto result =
      LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  Value d = NVVM::MmaOp::create(
      b, result, regs(a, 4), regs(bFragment, 2), cRegs,
      ArrayRef<int64_t>{16, 8, 16}, std::nullopt, std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16, NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Value out = c;
  for (int64_t i = 0; i < 4; ++i) {
    Value x = LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{i});
    out = vector::InsertOp::create(b, x, out, ArrayRef<int64_t>{i / 2, i % 2});
  }
  return out;
}

SmallVector<Value> kiln::buildTwoStageKLoop(
    ImplicitLocOpBuilder &b, int64_t kTiles,
    function_ref<Value(Value kt, Value stage)> issue,
    function_ref<SmallVector<Value>()> init,
    function_ref<SmallVector<Value>(Value stage, SmallVector<Value> acc)>
        compute) {
  Value group = issue(index(b, 0), index(b, 0));
  SmallVector<Value> acc = init();
  auto loop = scf::ForOp::create(b, index(b, 0), index(b, kTiles - 1),
                                 index(b, 1), acc);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kt = loop.getInductionVar();
    Value next = arith::AddIOp::create(b, kt, index(b, 1));
    Value pending = issue(next, arith::RemUIOp::create(b, next, index(b, 2)));
    nvgpu::DeviceAsyncWaitOp::create(b, pending, b.getI32IntegerAttr(1));
    gpu::BarrierOp::create(b);
    SmallVector<Value> updated =
        compute(arith::RemUIOp::create(b, kt, index(b, 2)),
                llvm::to_vector_of<Value>(loop.getRegionIterArgs()));
    gpu::BarrierOp::create(b);
    scf::YieldOp::create(b, updated);
  }
  nvgpu::DeviceAsyncWaitOp::create(b, group, b.getI32IntegerAttr(0));
  gpu::BarrierOp::create(b);
  return compute(index(b, (kTiles - 1) % 2),
                 llvm::to_vector_of<Value>(loop.getResults()));
}
