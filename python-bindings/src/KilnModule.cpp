//===- KilnModule.cpp - The `kiln._kiln` extension module -----------------===//
//
// The compiled half of the Python module: the compile driver
// (kiln::compile, what kiln-compile runs) and the runtime's C API
// (kiln/runtime.h, what kiln-run runs). The pure-Python package around it
// (python-bindings/kiln/) turns Python values into the plain arguments
// taken here and raises kiln.CompileError / kiln.RuntimeError.
//
// Both entry points release the GIL while they work. A Model is immutable
// and shared by threads; every run() creates its own session (cheap: the
// host code is loaded once per model, a session only allocates its input
// and output buffers), so runs on several threads never share one. The
// arrays run() returns are views of that session's output buffers; the
// session is released when the last of them is garbage collected.
//
//===----------------------------------------------------------------------===//

#include "kiln/Driver/CompileDriver.h"
#include "kiln/Init.h"
#include "kiln/generated_tokens.h"
#include "kiln/runtime.h"

#include "RuntimeSupport.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"

#include <algorithm>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace py = pybind11;
using namespace kiln::python;

namespace kiln::python {

const char *storageDtype(int dtype) {
  switch (dtype) {
  case KILN_DTYPE_FLOAT32: return "float32";
  case KILN_DTYPE_FLOAT64: return "float64";
  case KILN_DTYPE_FLOAT16: return "float16";
  case KILN_DTYPE_INT8: return "int8";
  case KILN_DTYPE_INT16: return "int16";
  case KILN_DTYPE_INT32: return "int32";
  case KILN_DTYPE_INT64: return "int64";
  case KILN_DTYPE_UINT8: return "uint8";
  case KILN_DTYPE_UINT16: return "uint16";
  case KILN_DTYPE_UINT32: return "uint32";
  case KILN_DTYPE_UINT64: return "uint64";
  case KILN_DTYPE_BOOL: return "bool";
  case KILN_DTYPE_BFLOAT16: return "uint16";
  case KILN_DTYPE_INT4: case KILN_DTYPE_INT2: return "int8";
  default: return "uint8"; // fp8, fp4, e8m0, uint4, uint2
  }
}

} // namespace kiln::python

namespace {

//===----------------------------------------------------------------------===//
// Compile
//===----------------------------------------------------------------------===//

/// One diagnostic: severity ("error", "warning", "remark", "note"), message,
/// the ONNX node name when the location names one, and "file:line:col"
/// when it has a file location.
using DiagnosticTuple =
    std::tuple<std::string, std::string, std::optional<std::string>,
               std::optional<std::string>>;

/// The node name and file position a location carries, looking through
/// NameLoc children, fused and call-site locations.
void describeLocation(mlir::Location loc, std::optional<std::string> &node,
                      std::optional<std::string> &where) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc)) {
    if (!node)
      node = name.getName().str();
    describeLocation(name.getChildLoc(), node, where);
  } else if (auto file = mlir::dyn_cast<mlir::FileLineColLoc>(loc)) {
    if (!where && file.getLine() > 0)
      where = file.getFilename().str() + ":" + std::to_string(file.getLine()) +
              ":" + std::to_string(file.getColumn());
  } else if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc)) {
    for (mlir::Location inner : fused.getLocations())
      describeLocation(inner, node, where);
  } else if (auto call = mlir::dyn_cast<mlir::CallSiteLoc>(loc)) {
    describeLocation(call.getCallee(), node, where);
  }
}

const char *severityName(mlir::DiagnosticSeverity severity) {
  switch (severity) {
  case mlir::DiagnosticSeverity::Error:
    return "error";
  case mlir::DiagnosticSeverity::Warning:
    return "warning";
  case mlir::DiagnosticSeverity::Remark:
    return "remark";
  case mlir::DiagnosticSeverity::Note:
    return "note";
  }
  return "error";
}

/// A graph input fixed at compile time: ONNX dtype code, dims, bytes.
using BoundTuple = std::tuple<int, std::vector<int64_t>, py::bytes>;

/// kiln-compile's planning flags, by the Python keyword's name (devices,
/// mesh, machine, parallel, objective, plan_batch, plan_seq, plan_phase,
/// microbatches, explain), as strings. Empty: one device, no plan.
using PlanningMap = std::map<std::string, std::string>;

/// Copies `planning` into `opts.planning`; false (with `error` set) for a
/// value that is not a number where one is needed.
bool applyPlanning(const PlanningMap &planning, kiln::CompileOptions &opts,
                   std::string &error) {
  kiln::CompileOptions::Planning &p = opts.planning;
  for (const auto &[key, value] : planning) {
    int64_t *number = key == "devices"        ? &p.devices
                      : key == "plan_batch"   ? &p.batch
                      : key == "plan_seq"     ? &p.seq
                      : key == "microbatches" ? &p.microbatches
                                              : nullptr;
    if (number) {
      if (llvm::StringRef(value).getAsInteger(10, *number)) {
        error = key + " must be an integer, got '" + value + "'";
        return false;
      }
    } else if (key == "mesh") {
      p.mesh = value;
    } else if (key == "machine") {
      p.machine = value;
    } else if (key == "parallel") {
      p.parallel = value;
    } else if (key == "objective") {
      p.objective = value;
    } else if (key == "plan_phase") {
      p.phase = value;
    } else if (key == "explain") {
      p.explain = value == "1";
    } else {
      error = "unknown planning option '" + key + "'";
      return false;
    }
  }
  return true;
}

/// Runs kiln::compile with the GIL released. Returns whether it succeeded
/// and every diagnostic it reported (remarks only when `remarks` is set).
/// With `planning`, the model is partitioned for the plan (as kiln-compile
/// --devices does); with `planOnly`, nothing is compiled and the third
/// element is the printed plan.
std::tuple<bool, std::vector<DiagnosticTuple>, std::string>
compileModel(const std::string &inputPath, const std::string &outputPath,
             const std::string &target, const std::string &emit,
             const std::string &quantize,
             const std::map<std::string, std::vector<int64_t>> &inputShapes,
             const std::map<std::string, std::pair<int64_t, int64_t>> &dims,
             const std::map<std::string, BoundTuple> &bindInputs,
             bool raise, const std::string &cpu, unsigned optLevel,
             const std::vector<std::string> &gpuArchs,
             const std::string &cudaPath, const std::string &entry,
             bool progress, bool remarks, bool generate, int64_t maxSeq,
             int64_t kvBlockSize, int64_t kvBlocks,
             const PlanningMap &planning, bool planOnly) {
  static std::once_flag registered;
  std::call_once(registered, [] { kiln::registerAllPasses(); });

  kiln::CompileOptions opts;
  opts.inputPath = inputPath;
  opts.outputPath = outputPath;
  opts.target = target;
  opts.emit = emit;
  opts.quantize = quantize;
  opts.raise = raise;
  opts.progress = progress;
  opts.import.entryName = entry;
  opts.generate = generate;
  opts.maxSeq = maxSeq;
  opts.kvBlockSize = kvBlockSize;
  opts.kvBlocks = kvBlocks;
  opts.targetOptions.cpu = cpu;
  opts.targetOptions.optLevel = optLevel;
  opts.targetOptions.gpuArchs = gpuArchs;
  opts.targetOptions.cudaPath = cudaPath;
  for (const auto &[name, dims] : inputShapes)
    opts.import.inputShapes[name] =
        llvm::SmallVector<int64_t>(dims.begin(), dims.end());
  for (const auto &[name, range] : dims)
    opts.import.dimRanges[name] = kiln::DimRange{range.first, range.second};
  for (const auto &[name, bound] : bindInputs) {
    kiln::BoundInput &b = opts.import.boundInputs[name];
    b.dtype = std::get<0>(bound);
    b.dims = std::get<1>(bound);
    b.data = std::string(std::get<2>(bound)); // copied with the GIL held
  }

  std::vector<DiagnosticTuple> diagnostics;
  std::string planText;
  bool ok;
  {
    py::gil_scoped_release release;
    std::unique_ptr<mlir::MLIRContext> contextOwner = kiln::createContext();
    mlir::MLIRContext &context = *contextOwner;
    bool hadError = false;
    // The engine serializes handler calls, so pass-manager threads may
    // report concurrently.
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      mlir::DiagnosticSeverity severity = d.getSeverity();
      if (severity == mlir::DiagnosticSeverity::Error)
        hadError = true;
      else if (severity != mlir::DiagnosticSeverity::Warning && !remarks)
        return mlir::success();
      std::optional<std::string> node, where;
      describeLocation(d.getLocation(), node, where);
      diagnostics.emplace_back(severityName(severity), d.str(), node, where);
      return mlir::success();
    });
    std::string error;
    if (!applyPlanning(planning, opts, error)) {
      diagnostics.emplace_back("error", error, std::nullopt, std::nullopt);
      ok = false;
    } else if (planOnly) {
      opts.planning.planOnly = true;
      llvm::raw_string_ostream os(planText);
      ok = succeeded(kiln::planParallel(context, opts, os)) && !hadError;
    } else {
      ok = (planning.empty() ||
            succeeded(kiln::choosePartition(context, opts, llvm::nulls()))) &&
           !hadError && succeeded(kiln::compile(context, opts)) && !hadError;
    }
  }
  return {ok, std::move(diagnostics), std::move(planText)};
}

//===----------------------------------------------------------------------===//
// Runtime
//===----------------------------------------------------------------------===//

/// One input of a run: its name, Kiln dtype, shape and C-contiguous data.
using InputTuple = std::tuple<std::string, int, std::vector<int64_t>,
                              py::buffer>;

class Model {
public:
  Model(const std::string &path, std::string device, uint32_t threads)
      : device(std::move(device)), threads(threads) {
    std::optional<RuntimeFailure> failure;
    {
      py::gil_scoped_release release;
      kiln_status status = kiln_model_load(path.c_str(), &model);
      // One session up front: rejects a device this artifact cannot run on
      // now rather than at the first run, and loads the host code.
      kiln_session *probe = nullptr;
      if (status == KILN_STATUS_OK)
        status = kiln_session_create(model, this->device.c_str(), &probe);
      kiln_session_release(probe);
      if (status != KILN_STATUS_OK) {
        failure = lastFailure(status);
        kiln_model_release(model);
        model = nullptr;
      }
    }
    if (failure)
      throw *failure;
  }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;
  ~Model() { kiln_model_release(model); }

  std::string target() const { return kiln_model_target(model); }
  const std::string &getDevice() const { return device; }

  /// (name, Kiln dtype code, shape) of every input or output.
  std::vector<std::tuple<std::string, int, std::vector<int64_t>>>
  signature(bool outputs) const {
    std::vector<std::tuple<std::string, int, std::vector<int64_t>>> result;
    size_t n = outputs ? kiln_model_num_outputs(model)
                       : kiln_model_num_inputs(model);
    for (size_t i = 0; i < n; ++i) {
      kiln_tensor_desc desc;
      kiln_status status = outputs ? kiln_model_output(model, i, &desc)
                                   : kiln_model_input(model, i, &desc);
      if (status != KILN_STATUS_OK)
        throw lastFailure(status);
      result.emplace_back(desc.name, int(desc.dtype),
                          std::vector<int64_t>(desc.dims, desc.dims + desc.rank));
    }
    return result;
  }

  /// (name, min, max) of every symbol, in model order: symbol k is the
  /// dim -(k+1) of signature().
  std::vector<std::tuple<std::string, int64_t, int64_t>> symbols() const {
    std::vector<std::tuple<std::string, int64_t, int64_t>> result;
    for (size_t i = 0; i < kiln_model_num_symbols(model); ++i) {
      const char *name = nullptr;
      int64_t min = 0, max = 0;
      if (kiln_status status = kiln_model_symbol(model, i, &name, &min, &max))
        throw lastFailure(status);
      result.emplace_back(name, min, max);
    }
    return result;
  }

  /// Runs on a fresh session and returns the outputs, in model order: as
  /// arrays that view the session's host buffers, at this run's shapes, or
  /// with `outputsOnDevice` as kiln.DeviceTensor objects over its device
  /// buffers. `deviceInputs` are (name, DLPack capsule) of inputs that live
  /// in the memory of the session's GPU; they are copied device to device.
  py::list run(const std::vector<InputTuple> &inputs,
               const std::vector<std::pair<std::string, py::object>>
                   &deviceInputs,
               bool outputsOnDevice) {
    struct Input {
      const std::string *name;
      int dtype;
      const std::vector<int64_t> *dims;
      const void *data;
      size_t bytes;
    };
    std::vector<Input> plain;
    std::vector<py::buffer_info> infos; // keep the buffers' views alive
    infos.reserve(inputs.size());
    for (const InputTuple &in : inputs) {
      infos.push_back(std::get<3>(in).request());
      const py::buffer_info &info = infos.back();
      plain.push_back({&std::get<0>(in), std::get<1>(in), &std::get<2>(in),
                       info.ptr, size_t(info.size * info.itemsize)});
    }
    // Released (their deleters called) when this returns, with the GIL.
    std::vector<DeviceInput> onDevice;
    for (const auto &[name, capsule] : deviceInputs)
      onDevice.push_back(deviceInput(name, capsule));

    auto owner = std::make_shared<Session>();
    std::vector<std::tuple<kiln_tensor_desc, const void *, size_t>> outs;
    std::optional<RuntimeFailure> failure;
    {
      py::gil_scoped_release release;
      kiln_status status = kiln_session_create(model, device.c_str(), &owner->session);
      if (status == KILN_STATUS_OK)
        status = kiln_session_set_threads(owner->session, threads);
      for (size_t i = 0; status == KILN_STATUS_OK && i < plain.size(); ++i) {
        const Input &in = plain[i];
        status = kiln_session_set_input(
            owner->session, in.name->c_str(), kiln_dtype(in.dtype),
            in.dims->data(), uint32_t(in.dims->size()), in.data, in.bytes);
      }
      for (size_t i = 0; status == KILN_STATUS_OK && i < onDevice.size(); ++i) {
        const DeviceInput &in = onDevice[i];
        status = kiln_session_set_input_device(
            owner->session, in.name.c_str(), kiln_dtype(in.dtype),
            in.dims.data(), uint32_t(in.dims.size()), in.address, in.bytes);
      }
      if (status == KILN_STATUS_OK)
        status = kiln_session_run(owner->session);
      size_t n = kiln_model_num_outputs(model);
      for (size_t i = 0; status == KILN_STATUS_OK && i < n; ++i) {
        kiln_tensor_desc desc;
        const void *data;
        size_t bytes;
        status = kiln_session_output(owner->session, i, &desc, &data, &bytes);
        outs.emplace_back(desc, data, bytes);
      }
      if (status != KILN_STATUS_OK)
        failure = lastFailure(status);
    }
    if (failure)
      throw *failure;
    if (outputsOnDevice)
      return deviceOutputs(owner, model, deviceIndex());

    py::list result;
    for (const auto &[desc, data, bytes] : outs) {
      // Each array holds the session through its base object.
      auto *keep = new std::shared_ptr<Session>(owner);
      py::capsule base(keep, [](void *p) {
        delete static_cast<std::shared_ptr<Session> *>(p);
      });
      std::vector<py::ssize_t> shape(desc.dims, desc.dims + desc.rank);
      py::dtype dtype(storageDtype(desc.dtype));
      result.append(py::array(dtype, shape, {},
                              const_cast<void *>(data), base));
    }
    return result;
  }

  /// kiln_model_generation_info: (max_seq, tokens input, positions input,
  /// logits output) names, or None for an artifact that is no generation
  /// step.
  py::object generationInfo() const {
    kiln_generation_info info;
    if (kiln_model_generation_info(model, &info) != KILN_STATUS_OK)
      return py::none();
    kiln_tensor_desc tokens, positions, logits;
    kiln_model_input(model, info.tokens_input, &tokens);
    kiln_model_input(model, info.positions_input, &positions);
    kiln_model_output(model, info.logits_output, &logits);
    return py::make_tuple(info.max_seq, std::string(tokens.name),
                          std::string(positions.name),
                          std::string(logits.name));
  }

  /// Model.serve's requests through the runtime's continuous batching
  /// (Serving.cpp).
  py::tuple serveRequests(std::vector<std::vector<int64_t>> prompts,
                          std::vector<uint32_t> maxNewTokens,
                          std::vector<int64_t> arrivals, uint32_t maxBatch,
                          float temperature, uint32_t topK, float topP,
                          uint64_t seed, std::vector<int64_t> stopTokens) {
    ServeRequests requests{std::move(prompts),
                           std::move(maxNewTokens),
                           std::move(arrivals),
                           std::move(stopTokens),
                           {temperature, topK, topP, seed},
                           maxBatch};
    return serve(model, device, threads, requests);
  }

  /// Decodes `steps` tokens after `prompt` (int64 [batch, length]) on a
  /// fresh session and generation; returns them as int64 [batch, steps].
  /// A sequence that emits a stop token repeats it; decoding ends when
  /// every sequence has stopped.
  py::array_t<int64_t> generate(py::array_t<int64_t, py::array::c_style> prompt,
                                int64_t steps, float temperature,
                                uint32_t topK, float topP, uint64_t seed,
                                const std::vector<int64_t> &stopTokens) {
    if (prompt.ndim() != 2 || prompt.shape(0) < 1 || prompt.shape(1) < 1)
      throw RuntimeFailure{"INVALID_ARGUMENT",
                           "the prompt must be [batch, length] tokens with "
                           "both at least 1"};
    int64_t batch = prompt.shape(0), length = prompt.shape(1);
    std::vector<int64_t> tokens(prompt.data(), prompt.data() + batch * length);
    kiln::GeneratedTokens made(batch, steps);
    std::optional<RuntimeFailure> failure;
    {
      py::gil_scoped_release release;
      Session owner;
      kiln_generation *generation = nullptr;
      kiln_sampling sampling{temperature, topK, topP, seed};
      std::vector<int64_t> next(batch);
      auto record = [&](int64_t i) { return made.record(i, next, stopTokens); };
      kiln_status status =
          kiln_session_create(model, device.c_str(), &owner.session);
      if (status == KILN_STATUS_OK)
        status = kiln_session_set_threads(owner.session, threads);
      if (status == KILN_STATUS_OK)
        status = kiln_generation_create(owner.session, uint32_t(batch),
                                        &sampling, &generation);
      if (status == KILN_STATUS_OK)
        status = kiln_generation_prefill(generation, tokens.data(),
                                         uint32_t(length), next.data());
      int64_t i = 0;
      bool done = status == KILN_STATUS_OK && record(0);
      for (i = 1; status == KILN_STATUS_OK && !done && i < steps; ++i) {
        status = kiln_generation_step(generation, next.data(), next.data());
        if (status == KILN_STATUS_OK)
          done = record(i);
      }
      if (status == KILN_STATUS_OK)
        made.repeatLastFrom(i);
      if (status != KILN_STATUS_OK)
        failure = lastFailure(status);
      kiln_generation_release(generation);
    }
    if (failure)
      throw *failure;
    py::array_t<int64_t> result({batch, steps});
    std::copy(made.tokens().begin(), made.tokens().end(),
              result.mutable_data());
    return result;
  }

private:
  /// N of "cuda:N" ("cuda" is device 0); 0 for "cpu".
  int deviceIndex() const {
    size_t colon = device.find(':');
    return colon == std::string::npos ? 0 : std::stoi(device.substr(colon + 1));
  }

  /// Reads a device input's capsule and checks that it lives on this
  /// model's device; a Kiln dtype that travels as its storage type (fp8
  /// codes as uint8) is taken as the model's.
  DeviceInput deviceInput(const std::string &name, py::object capsule) const {
    DeviceInput in = readDeviceInput(name, std::move(capsule));
    std::string where = (in.deviceType == 13 ? "cuda managed:" : "cuda:") +
                        std::to_string(in.deviceId);
    if (device.rfind("cuda", 0) != 0)
      throw RuntimeFailure{
          "UNSUPPORTED", "input '" + name + "' is in the memory of device " +
                             where + ", but the model runs on '" + device +
                             "': give it a host (CPU) tensor"};
    if (in.deviceId != deviceIndex())
      throw RuntimeFailure{"INVALID_ARGUMENT",
                           "input '" + name + "' is in the memory of device " +
                               where + ", but the model runs on '" + device +
                               "'"};
    size_t index;
    kiln_tensor_desc desc;
    if (kiln_model_find_input(model, name.c_str(), &index) == KILN_STATUS_OK &&
        kiln_model_input(model, index, &desc) == KILN_STATUS_OK &&
        desc.dtype != in.dtype &&
        std::string(storageDtype(desc.dtype)) == storageDtype(in.dtype) &&
        std::string(storageDtype(desc.dtype)) != kiln_dtype_name(desc.dtype))
      in.dtype = desc.dtype;
    return in;
  }

  kiln_model *model = nullptr;
  std::string device;
  uint32_t threads; // 0: every core
};

} // namespace

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "Kiln's compiled core: the compile driver and the runtime C API. "
            "Use the `kiln` package, not this module.";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const RuntimeFailure &failure) {
      py::object cls = py::module_::import("kiln.errors").attr("RuntimeError");
      py::object exc = cls(failure.message, failure.status);
      PyErr_SetObject(cls.ptr(), exc.ptr());
    }
  });

  m.def("compile", &compileModel, py::arg("input_path"),
        py::arg("output_path"), py::arg("target"), py::arg("emit"),
        py::arg("quantize"), py::arg("input_shapes"), py::arg("dims"),
        py::arg("bind_inputs"),
        py::arg("raise_ops"), py::arg("cpu"), py::arg("opt_level"),
        py::arg("gpu_archs"), py::arg("cuda_path"), py::arg("entry"),
        py::arg("progress"), py::arg("remarks"), py::arg("generate"),
        py::arg("max_seq"), py::arg("kv_block_size"), py::arg("kv_blocks"),
        py::arg("planning") = PlanningMap{}, py::arg("plan_only") = false,
        "Runs kiln::compile (the GIL released). Returns (ok, diagnostics, "
        "plan text), each diagnostic (severity, message, node or None, "
        "file:line:col or None); with plan_only nothing is compiled and the "
        "plan is printed into the text.");

  m.def("set_memory_limit",
        [](uint64_t bytes) { kiln_set_memory_limit(bytes); }, py::arg("bytes"),
        "kiln_set_memory_limit: caps the runtime's tensor storage (0: none).");
  m.def("memory_limit", [] { return kiln_memory_limit(); },
        "kiln_memory_limit: the cap in bytes (0: none).");
  m.def("dtype_name", [](int dtype) { return kiln_dtype_name(dtype); },
        "The runtime's name of a Kiln (ONNX) dtype code.");
  m.def("storage_dtype", [](int dtype) { return storageDtype(dtype); },
        "The NumPy dtype name that holds a Kiln dtype at the runtime API.");

  registerDeviceTensors(m);

  py::class_<Model>(m, "Model")
      .def(py::init<const std::string &, std::string, uint32_t>(),
           py::arg("path"), py::arg("device"), py::arg("threads") = 0,
           "Loads and validates an artifact and checks that `device` can run "
           "it (the GIL released).")
      .def_property_readonly("target", &Model::target)
      .def_property_readonly("device", &Model::getDevice)
      .def("signature", &Model::signature, py::arg("outputs"),
           "(name, dtype code, shape) of every input, or every output; a "
           "symbolic dim is -(k+1) for symbol k.")
      .def("symbols", &Model::symbols,
           "(name, min, max) of every symbolic dim, in model order.")
      .def("run", &Model::run, py::arg("inputs"),
           py::arg("device_inputs") =
               std::vector<std::pair<std::string, py::object>>{},
           py::arg("outputs_on_device") = false,
           "Runs on a fresh session (the GIL released); returns the outputs "
           "in model order as arrays that view the session's buffers, or as "
           "DeviceTensors with outputs_on_device. device_inputs: (name, "
           "DLPack capsule) of inputs in the session's device memory.")
      .def("generation_info", &Model::generationInfo,
           "(max_seq, tokens, positions, logits) of a generation step, or "
           "None.")
      .def("serve", &Model::serveRequests, py::arg("prompts"),
           py::arg("max_new_tokens"), py::arg("arrivals"), py::arg("max_batch"),
           py::arg("temperature"), py::arg("top_k"), py::arg("top_p"),
           py::arg("seed"), py::arg("stop_tokens"),
           "Runs requests (prompt, max new tokens, arrival step) through the "
           "runtime's continuous batching on a fresh session (the GIL "
           "released); returns (list of int64 arrays, dict of counters).")
      .def("generate", &Model::generate, py::arg("prompt"), py::arg("steps"),
           py::arg("temperature"), py::arg("top_k"), py::arg("top_p"),
           py::arg("seed"), py::arg("stop_tokens"),
           "Decodes `steps` tokens after an int64 [batch, length] prompt on "
           "a fresh session (the GIL released); returns int64 [batch, "
           "steps].");
}
