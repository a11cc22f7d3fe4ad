# lit configuration for Kiln's FileCheck tests.
import os
import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
# Unit tests, the conformance runner and the fuzz corpora (inputs, replayed
# by ctest's fuzz-replay.* tests) are run by ctest directly.
config.excludes = ["unit", "e2e", "fuzz", "Inputs", "lit.cfg.py",
                   "lit.site.cfg.py.in", "CMakeLists.txt"]

# kiln-compile's cache stays off (an empty KILN_CACHE_DIR), so that a test
# sees a compile; the cache's tests give --cache-dir in their temp folder.
config.environment["KILN_CACHE_DIR"] = ""
config.environment["PATH"] = os.pathsep.join(
    [config.kiln_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")])
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
# The runtime tests' stand-ins for compiled host code (test/runtime), which
# kiln-make-test-artifact wraps into artifacts without the compiler.
config.substitutions.append(("%kiln_test_host_code",
                             os.path.join(config.kiln_obj_root, "lib",
                                          "libkiln_test_host_code.so")))
# The CUDA stand-ins: cuda_host_code.c's entries, and the fake CUDA driver
# (test/runtime/fake_cuda) that the runtime loads through KILN_CUDA_DRIVER.
config.substitutions.append(("%kiln_test_cuda_host_code",
                             os.path.join(config.kiln_obj_root, "lib",
                                          "libkiln_test_cuda_host_code.so")))
config.substitutions.append(("%kiln_fake_cuda",
                             os.path.join(config.kiln_obj_root, "lib",
                                          "libkiln_fake_cuda.so")))

# The CUDA target's tests need the toolkit's ptxas and libdevice (CI has the
# toolkit but no GPU); without them they are UNSUPPORTED.
cuda_path = os.environ.get("KILN_CUDA_PATH", "/usr/local/cuda")
if os.access(os.path.join(cuda_path, "bin", "ptxas"), os.X_OK) and \
        os.path.exists(os.path.join(cuda_path, "nvvm", "libdevice",
                                    "libdevice.10.bc")):
    config.available_features.add("ptxas")
config.substitutions.append(("%cuda_path", cuda_path))
