//===- kernel_table_test.cpp - The CUDA target's kernel table ------------===//
//
// recordLaunchTable (kiln/Target/CUDA/LaunchTable.h) on hand-written host
// schedules, read back by readKernelTable as the artifact writer gets it:
// one row per launch in launch order (two launches of one kernel are two
// rows), provenance from the launch and its kernel's ops, constant launch
// dims (0 where only the run knows one), workgroup plus dynamic shared
// bytes, GPU kernels numbered by GPU_CODE's table; and no table at all when
// a launch sits in a loop, where launch N of a run would not be row N.
//
//===----------------------------------------------------------------------===//

#include "kiln/Target/CUDA/LaunchTable.h"
#include "kiln/Target/KernelTable.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

using namespace mlir;

namespace {

constexpr const char *kStraightLine = R"mlir(
module attributes {gpu.container_module} {
  func.func @main(%a: memref<4xf32>, %n: index) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %c32 = arith.constant 32 : index
    %c128 = arith.constant 128 : index
    %c64 = arith.constant 64 : i32
    gpu.launch_func @kiln_kernels::@norm_kernel blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c64 args(%a : memref<4xf32>) loc(fused<"kiln.rms_norm">["norm"])
    gpu.launch_func @kiln_kernels::@add_kernel blocks in (%n, %c1, %c1) threads in (%c32, %c1, %c1) args(%a : memref<4xf32>) loc(fused<"kiln.matmul">["mm"])
    gpu.launch_func @kiln_kernels::@add_kernel blocks in (%n, %c1, %c1) threads in (%c32, %c1, %c1) args(%a : memref<4xf32>) loc(fused<"kiln.matmul">["mm"])
    return
  }
  gpu.module @kiln_kernels {
    gpu.func @norm_kernel(%arg0: memref<4xf32>) workgroup(%buf : memref<32xf32, #gpu.address_space<workgroup>>) kernel {
      %c0 = arith.constant 0 : index
      %v = memref.load %arg0[%c0] : memref<4xf32> loc(fused<"kiln.rms_norm">["norm_scale"])
      memref.store %v, %buf[%c0] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.return
    }
    gpu.func @add_kernel(%arg0: memref<4xf32>) kernel {
      %c0 = arith.constant 0 : index
      %v = memref.load %arg0[%c0] : memref<4xf32> loc(fused<"kiln.add">["bias"])
      memref.store %v, %arg0[%c0] : memref<4xf32>
      gpu.return
    }
  }
}

)mlir";

constexpr const char *kLaunchInALoop = R"mlir(
module attributes {gpu.container_module} {
  func.func @main(%a: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    scf.for %i = %c0 to %c2 step %c1 {
      gpu.launch_func @kiln_kernels::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    }
    return
  }
  gpu.module @kiln_kernels {
    gpu.func @k(%arg0: memref<4xf32>) kernel {
      gpu.return
    }
  }
}
)mlir";

class KernelTableTest : public ::testing::Test {
protected:
  KernelTableTest() {
    context.loadDialect<arith::ArithDialect, func::FuncDialect, gpu::GPUDialect,
                        memref::MemRefDialect, scf::SCFDialect>();
  }

  OwningOpRef<ModuleOp> parse(const char *text) {
    OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
    EXPECT_TRUE(module);
    return module;
  }

  MLIRContext context;
};

TEST_F(KernelTableTest, OneRowPerLaunchInLaunchOrder) {
  OwningOpRef<ModuleOp> module = parse(kStraightLine);
  ASSERT_TRUE(module);
  kiln::recordLaunchTable(*module);
  // GPU_CODE numbers kernels by their first launch.
  std::vector<kiln::KernelSignature> rows =
      kiln::readKernelTable(*module, {"norm_kernel", "add_kernel"});
  ASSERT_EQ(rows.size(), 3u);

  EXPECT_EQ(rows[0].name, "rms_norm");
  EXPECT_EQ(rows[0].kinds, std::vector<std::string>{"kiln.rms_norm"});
  EXPECT_EQ(rows[0].nodes, (std::vector<std::string>{"norm", "norm_scale"}));
  ASSERT_TRUE(rows[0].launch);
  EXPECT_EQ(rows[0].launch->gpuKernel, 0u);
  EXPECT_EQ(
      std::vector<uint32_t>(rows[0].launch->grid, rows[0].launch->grid + 3),
      (std::vector<uint32_t>{4, 1, 1}));
  EXPECT_EQ(rows[0].launch->block[0], 128u);
  // 32 floats of workgroup memory and 64 dynamic bytes.
  EXPECT_EQ(rows[0].launch->sharedBytes, 192u);

  for (int i : {1, 2}) {
    EXPECT_EQ(rows[i].name, "matmul+add") << i;
    EXPECT_EQ(rows[i].nodes, (std::vector<std::string>{"mm", "bias"})) << i;
    ASSERT_TRUE(rows[i].launch) << i;
    EXPECT_EQ(rows[i].launch->gpuKernel, 1u) << i;
    // The grid's x is an argument: only the run knows it.
    EXPECT_EQ(rows[i].launch->grid[0], 0u) << i;
    EXPECT_EQ(rows[i].launch->grid[1], 1u) << i;
    EXPECT_EQ(rows[i].launch->block[0], 32u) << i;
    EXPECT_EQ(rows[i].launch->sharedBytes, 0u) << i;
  }

  // A kernel GPU_CODE does not have gets no launch (so no LAUNCHES).
  rows = kiln::readKernelTable(*module, {"norm_kernel"});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].launch);
  EXPECT_FALSE(rows[1].launch);
}

TEST_F(KernelTableTest, NoTableWhenALaunchIsInALoop) {
  OwningOpRef<ModuleOp> module = parse(kLaunchInALoop);
  ASSERT_TRUE(module);
  kiln::recordLaunchTable(*module);
  EXPECT_FALSE((*module)->hasAttr(kiln::kKernelTableAttrName));
  EXPECT_TRUE(kiln::readKernelTable(*module, {"k"}).empty());
}

} // namespace
