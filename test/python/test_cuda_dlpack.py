"""Tensors in GPU memory through the Python module, against the fake CUDA
driver (test/runtime/fake_cuda): no GPU is needed, and device memory there
is host memory the fake's allocator hands out, so copies really move bytes
and every driver call is logged.

The artifact is the runtime tests' hand-assembled "cuda-add" model
(kiln-make-test-artifact: inputs a, b float32 [2, 3]; outputs sum = a + b +
w with w = [[100, 200, 300], [400, 500, 600]], copy = a, sevens = uint8
[4] of 7). Debian's torch has no CUDA, so the DLPack capsules of CUDA
tensors are Kiln's own DeviceTensors, read back field by field through
ctypes: the same ABI a CUDA torch.Tensor speaks.
"""

import ctypes
import os
import subprocess

import numpy as np
import pytest

import kiln

BUILD = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(kiln.__file__))))
MAKE_ARTIFACT = os.path.join(BUILD, "bin", "kiln-make-test-artifact")
CUDA_HOST_CODE = os.path.join(BUILD, "lib", "libkiln_test_cuda_host_code.so")
FAKE_CUDA = os.path.join(BUILD, "lib", "libkiln_fake_cuda.so")

A = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
B = np.arange(10, 70, 10, dtype=np.float32).reshape(2, 3)
W = np.array([[100, 200, 300], [400, 500, 600]], np.float32)


@pytest.fixture(scope="module")
def fake_log(tmp_path_factory):
    for path in (MAKE_ARTIFACT, CUDA_HOST_CODE, FAKE_CUDA):
        if not os.path.exists(path):
            pytest.skip(f"the runtime's test tools are not built ({path})")
    log = tmp_path_factory.mktemp("fake-cuda") / "calls.log"
    saved = {k: os.environ.get(k) for k in ("KILN_CUDA_DRIVER", "KILN_FAKE_CUDA_LOG")}
    os.environ["KILN_CUDA_DRIVER"] = FAKE_CUDA
    os.environ["KILN_FAKE_CUDA_LOG"] = str(log)
    yield log
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def cuda_add(fake_log, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("cuda-add") / "cuda-add.kiln")
    subprocess.run([MAKE_ARTIFACT, CUDA_HOST_CODE, path, "--model", "cuda-add"], check=True)
    return kiln.load(path, device="cuda:0")


def calls_since(log, start):
    with open(log) as f:
        return [line.split()[0] for line in f.readlines()[start:]]


def log_length(log):
    with open(log) as f:
        return len(f.readlines())


# The DLPack ABI (DLManagedTensor), to read capsules as a consumer would.
class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", _DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", _DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


class _DLManagedTensor(ctypes.Structure):
    pass


_DLManagedTensor._fields_ = [
    ("dl_tensor", _DLTensor), ("manager_ctx", ctypes.c_void_p),
    ("deleter", ctypes.CFUNCTYPE(None, ctypes.POINTER(_DLManagedTensor)))]

_get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_get_pointer.restype = ctypes.c_void_p
_get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


def read_capsule(capsule):
    address = _get_pointer(capsule, b"dltensor")
    return ctypes.cast(address, ctypes.POINTER(_DLManagedTensor)).contents.dl_tensor


def test_host_run_on_the_fake_gpu(cuda_add):
    assert cuda_add.device == "cuda:0"
    assert cuda_add.target == "cuda-sm_90a,sm_80"
    out = cuda_add.run({"a": A, "b": B})
    np.testing.assert_array_equal(out["sum"], A + B + W)
    np.testing.assert_array_equal(out["copy"], A)


def test_outputs_stay_on_the_device_and_speak_dlpack(cuda_add):
    out = cuda_add.run({"a": A, "b": B}, outputs="device")
    total = out["sum"]
    assert isinstance(total, kiln.DeviceTensor)
    assert total.shape == (2, 3) and total.dtype == np.float32
    assert total.device == "cuda:0" and total.nbytes == 24
    assert total.__dlpack_device__() == (2, 0)  # kDLCUDA, device 0
    assert "sum: float32[2, 3] on cuda:0" in repr(total)
    np.testing.assert_array_equal(total.numpy(), A + B + W)
    np.testing.assert_array_equal(out["sevens"].numpy(), [7, 7, 7, 7])

    capsule = total.__dlpack__()
    t = read_capsule(capsule)
    assert (t.device.device_type, t.device.device_id) == (2, 0)
    assert t.data == total.data_ptr
    assert (t.ndim, t.shape[0], t.shape[1]) == (2, 2, 3)
    assert (t.dtype.code, t.dtype.bits, t.dtype.lanes) == (2, 32, 1)  # kDLFloat
    assert not t.strides and t.byte_offset == 0
    # The fake's device memory is host memory: the bytes are the results.
    values = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_float)), (2, 3))
    np.testing.assert_array_equal(values, A + B + W)
    sevens = read_capsule(out["sevens"].__dlpack__())
    assert (sevens.dtype.code, sevens.dtype.bits) == (1, 8)  # kDLUInt


def test_device_tensor_keeps_its_session_alive(cuda_add):
    capsule = cuda_add.run({"a": A, "b": B}, outputs="device")["copy"].__dlpack__()
    # The DeviceTensor and its dict are gone; the unconsumed capsule still
    # owns the session, so the device memory is still the run's.
    t = read_capsule(capsule)
    values = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_float)), (2, 3))
    np.testing.assert_array_equal(values, A)
    del capsule  # releases it; nothing left to check but that nothing crashed


def test_device_input_is_copied_device_to_device(cuda_add, fake_log):
    first = cuda_add.run({"a": A, "b": B}, outputs="device")
    start = log_length(fake_log)
    second = cuda_add.run({"a": first["sum"], "b": B})
    np.testing.assert_array_equal(second["sum"], (A + B + W) + B + W)
    np.testing.assert_array_equal(second["copy"], A + B + W)
    names = calls_since(fake_log, start)
    # a came from device memory (checked first), only b went up from the
    # host; the entry's own device copy is the other DtoD.
    assert names.count("cuMemGetAddressRange_v2") == 1
    assert names.count("cuMemcpyHtoDAsync_v2") == 1 + 1  # b, and the weights
    assert names.count("cuMemcpyDtoDAsync_v2") == 2


def test_device_inputs_and_outputs_chain(cuda_add):
    out = cuda_add.run({"a": A, "b": B}, outputs="device")
    for _ in range(3):
        out = cuda_add.run({"a": out["copy"], "b": out["sum"]}, outputs="device")
    # copy stays A; sum grows by A + W per run.
    np.testing.assert_array_equal(out["copy"].numpy(), A)
    np.testing.assert_array_equal(out["sum"].numpy(), A + B + W + 3 * (A + W))


class _ForeignGpuTensor:
    """A producer in GPU memory: an object with __dlpack__ and
    __dlpack_device__, as a CUDA torch.Tensor is, here wrapping a
    DeviceTensor's capsule but reporting its own device."""

    def __init__(self, inner, device=(2, 0)):
        self.inner, self.device = inner, device
        self.streams = []

    def __dlpack__(self, stream=None):
        self.streams.append(stream)
        capsule = self.inner.__dlpack__()
        device = read_capsule(capsule).device
        device.device_type, device.device_id = self.device
        return capsule

    def __dlpack_device__(self):
        return self.device


def test_foreign_gpu_tensor_as_input(cuda_add):
    made = cuda_add.run({"a": A, "b": B}, outputs="device")["copy"]
    foreign = _ForeignGpuTensor(made)
    out = cuda_add.run({"a": foreign, "b": B})
    np.testing.assert_array_equal(out["sum"], A + B + W)
    assert foreign.streams == [None]


def test_gpu_tensor_on_another_device(cuda_add):
    made = cuda_add.run({"a": A, "b": B}, outputs="device")["copy"]
    with pytest.raises(kiln.RuntimeError) as error:
        cuda_add.run({"a": _ForeignGpuTensor(made, (2, 1)), "b": B})
    assert error.value.status == "INVALID_ARGUMENT"
    assert "input 'a' is in the memory of device cuda:1, but the model runs on 'cuda:0'" \
        in str(error.value)


def test_gpu_tensor_for_a_cpu_model(cuda_add, add_model):
    made = cuda_add.run({"a": A, "b": B}, outputs="device")["copy"]
    with pytest.raises(kiln.RuntimeError) as error:
        add_model.run({"x": made})
    assert error.value.status == "UNSUPPORTED"
    assert "input 'x' is in the memory of device cuda:0, but the model runs on 'cpu'" \
        in str(error.value)
    with pytest.raises(kiln.RuntimeError, match="outputs='device' needs a model loaded on a CUDA"):
        add_model.run({"x": np.zeros((2, 3), np.float32)}, outputs="device")
    with pytest.raises(ValueError, match="outputs is 'host' or 'device'"):
        add_model.run({"x": np.zeros((2, 3), np.float32)}, outputs="gpu")
    with pytest.raises(kiln.RuntimeError, match="from_dlpack makes NumPy views of host memory"):
        kiln.from_dlpack(made)


def test_gpu_tensor_with_the_wrong_dtype_or_shape(cuda_add):
    made = cuda_add.run({"a": A, "b": B}, outputs="device")
    with pytest.raises(kiln.RuntimeError) as error:
        cuda_add.run({"a": made["sevens"], "b": B})
    assert error.value.status == "DTYPE_MISMATCH"
    assert "input 'a' expects dtype float32 but got uint8" in str(error.value)


def test_address_outside_device_memory(cuda_add):
    host = np.zeros((2, 3), np.float32)

    class HostMemoryClaimingToBeGpu:
        """A broken producer: a CUDA capsule over host memory."""

        def __dlpack__(self, stream=None):
            capsule = cuda_add.run({"a": A, "b": B}, outputs="device")["copy"].__dlpack__()
            read_capsule(capsule).data = host.ctypes.data
            return capsule

        def __dlpack_device__(self):
            return (2, 0)

    with pytest.raises(kiln.RuntimeError) as error:
        cuda_add.run({"a": HostMemoryClaimingToBeGpu(), "b": B})
    assert error.value.status == "INVALID_ARGUMENT"
    assert "the address is not in device memory" in str(error.value)
    # The model still runs.
    np.testing.assert_array_equal(cuda_add.run({"a": A, "b": B})["sum"], A + B + W)
