/*===- kiln/runtime.h - The Kiln runtime C API ----------------------------===*\
|*                                                                            *|
|* Loads a compiled .kiln artifact and runs it. Plain C99 so C, C++, Python  *|
|* (ctypes/pybind11) and the kiln-run CLI all use the same entry points.     *|
|*                                                                            *|
|* Conventions:                                                              *|
|*  - Every fallible function returns a kiln_status; KILN_STATUS_OK is 0.    *|
|*    On failure kiln_last_error() holds a one-line detail for this thread,  *|
|*    object and data out-parameters (kiln_model **, kiln_session **,       *|
|*    const void **, kiln_tensor_desc *) are cleared to NULL / zero, and an  *|
|*    out-parameter index is left unchanged.                                 *|
|*  - No function aborts, throws or crashes on bad arguments: NULL pointers, *|
|*    unknown names, wrong dtypes/shapes and corrupt files are all statuses. *|
|*  - Objects are created by *_load / *_create and freed by *_release;       *|
|*    releasing NULL is a no-op.                                             *|
|*  - A kiln_model is immutable after loading and may be shared by many     *|
|*    sessions on many threads. A session keeps its model alive, so the     *|
|*    model may be released before its sessions. A kiln_session is used by  *|
|*    one thread at a time.                                                  *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "kiln/dtype.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(KILN_RUNTIME_BUILDING)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

typedef enum kiln_status {
  KILN_STATUS_OK = 0,
  KILN_STATUS_INVALID_ARGUMENT,   /* NULL pointer, bad index, bad byte size */
  KILN_STATUS_IO_ERROR,           /* the file cannot be opened or read */
  KILN_STATUS_CORRUPT_ARTIFACT,   /* not an artifact, truncated, bad checksum */
  KILN_STATUS_VERSION_MISMATCH,   /* artifact format version not readable */
  KILN_STATUS_UNSUPPORTED,        /* target or device this runtime can't run */
  KILN_STATUS_NOT_FOUND,          /* unknown input or output name */
  KILN_STATUS_SHAPE_MISMATCH,     /* input rank or dims differ from the model */
  KILN_STATUS_DTYPE_MISMATCH,     /* input dtype differs from the model */
  KILN_STATUS_MISSING_INPUT,      /* run before every input was set */
  KILN_STATUS_OUT_OF_MEMORY,      /* an allocation failed */
  KILN_STATUS_DEVICE_UNAVAILABLE, /* no driver, no such device, init failed */
  KILN_STATUS_INTERNAL,           /* a bug in the runtime */
  KILN_STATUS_DEVICE_ERROR        /* the device or its driver failed an
                                     operation (a launch, a copy, a kernel) */
} kiln_status;

/* Names one input or output of a model. `name` and `dims` point into the
 * model and stay valid until the model (and every session on it) is
 * released. In a model's signature (kiln_model_input/output) a symbolic
 * (dynamic) dim is -(k+1), for symbol k (kiln_model_symbol); the desc of a
 * run's output (kiln_session_output) has that run's actual dims, >= 0. */
typedef struct kiln_tensor_desc {
  const char *name;
  kiln_dtype dtype;
  uint32_t rank;
  const int64_t *dims; /* rank entries; may be NULL when rank is 0 */
} kiln_tensor_desc;

typedef struct kiln_model kiln_model;
typedef struct kiln_session kiln_session;

/*===--- Errors
 * ------------------------------------------------------------===*/

/* A constant name such as "CORRUPT_ARTIFACT"; "UNKNOWN" for other values. */
KILN_API const char *kiln_status_string(kiln_status status);

/* The detail of the last failure in the calling thread, one line without a
 * trailing newline (e.g. "input 'x' expects shape [2,3] but got [2,4]"), or
 * "" if nothing has failed yet. Successful calls do not clear it. The pointer
 * is valid until the next failing call in this thread. */
KILN_API const char *kiln_last_error(void);

/*===--- Models
 * ------------------------------------------------------------===*/

/* Maps the artifact at `path` read-only and validates it completely: magic,
 * format version, size, checksum, section table and metadata. Weights are
 * used in place from the mapping, never copied. Host code is not loaded
 * until the first session is created. */
KILN_API kiln_status kiln_model_load(const char *path, kiln_model **out_model);

/* Drops the caller's reference; the model is freed once its last session is
 * released too. */
KILN_API void kiln_model_release(kiln_model *model);

/* The artifact's target, e.g. "cpu-x86_64" or "cuda-sm_90a,sm_80"; NULL if
 * `model` is NULL. */
KILN_API const char *kiln_model_target(const kiln_model *model);

/* Number of GPU code images (the GPU_CODE section of a "cuda-" target; see
 * kiln/artifact_format.h); 0 for other targets or if `model` is NULL. */
KILN_API size_t kiln_model_num_gpu_images(const kiln_model *model);

/* Describes GPU code image `index`: its architecture ("sm_90a", pointing
 * into the model), its format (a kiln_gpu_image_format: 1 cubin, 2 PTX) and,
 * if `out_bytes` is not NULL, its size in bytes. */
KILN_API kiln_status kiln_model_gpu_image(const kiln_model *model, size_t index,
                                          const char **out_arch,
                                          int *out_format, uint64_t *out_bytes);

/* The device workspace the GPU code uses, in bytes (GPU_CODE's
 * workspace_bytes); 0 without GPU code or if `model` is NULL. */
KILN_API uint64_t kiln_model_gpu_workspace_bytes(const kiln_model *model);

/* The host workspace a "cpu-" target's code uses for its intermediates, in
 * bytes (METADATA's workspace_bytes): each session allocates it once, when
 * it is created. 0 for other targets or if `model` is NULL. */
KILN_API uint64_t kiln_model_workspace_bytes(const kiln_model *model);

/*===--- What the artifact holds (for kiln-inspect and other tools) ----===*/

/* The artifact's format version (see kiln/artifact_format.h); 0 if `model`
 * is NULL. */
KILN_API uint32_t kiln_model_format_version(const kiln_model *model);

/* The host code's entry symbol (METADATA's entry_symbol, e.g.
 * "kiln_entry"); NULL if `model` is NULL. */
KILN_API const char *kiln_model_entry_symbol(const kiln_model *model);

/* Where the section of kind `kind` (a kiln_section_kind of
 * kiln/artifact_format.h) lies in the file: its offset and size in bytes.
 * KILN_STATUS_NOT_FOUND when the artifact has no such section (sections of
 * kinds this runtime does not know are skipped when loading, and so never
 * found). */
KILN_API kiln_status kiln_model_section(const kiln_model *model, uint32_t kind,
                                        uint64_t *out_offset,
                                        uint64_t *out_size);

/* Number of weights, the constant tensors stored in WEIGHTS; 0 if `model`
 * is NULL. */
KILN_API size_t kiln_model_num_weights(const kiln_model *model);

/* Describes weight `index` (in entry-point order): its name, dtype and
 * dims (always static) and, if `out_bytes` is not NULL, the bytes it takes
 * in WEIGHTS (packed for sub-byte dtypes: kiln_dtype_packed_size). */
KILN_API kiln_status kiln_model_weight(const kiln_model *model, size_t index,
                                       kiln_tensor_desc *out_desc,
                                       uint64_t *out_bytes);

/* Number of GPU kernels (GPU_CODE's kernel table); 0 without GPU code or
 * if `model` is NULL. */
KILN_API size_t kiln_model_num_gpu_kernels(const kiln_model *model);

/* The name of GPU kernel `index`, pointing into the model; the index is the
 * one the host code passes to kiln_gpu_calls.launch. */
KILN_API kiln_status kiln_model_gpu_kernel(const kiln_model *model,
                                           size_t index, const char **out_name);

/* The kernel table (the KERNELS section): the loop nests of a CPU
 * artifact's entry, or the GPU kernel launches of a CUDA artifact's, in
 * the order they run, what each computes and the ONNX nodes it came from.
 * 0 kernels if `model` is NULL or the artifact has no table (one compiled
 * before it existed). */
KILN_API size_t kiln_model_num_kernels(const kiln_model *model);

typedef struct kiln_kernel_info {
  const char *name;         /* "rms_norm", "matmul+add" (not unique) */
  size_t num_kinds;         /* the Kiln op kinds it computes */
  const char *const *kinds; /* "kiln.rms_norm", ... */
  size_t num_nodes;         /* the ONNX nodes it came from */
  const char *const *nodes;
} kiln_kernel_info;

/* Describes kernel `index`; the strings point into the model. */
KILN_API kiln_status kiln_model_kernel(const kiln_model *model, size_t index,
                                       kiln_kernel_info *out_info);

/* How a CUDA artifact launches kernel `index` of the table (its LAUNCHES
 * section): the GPU kernel (kiln_model_gpu_kernel's index), grid and block
 * (x, y, z; 0 where only the run knows it) and shared memory bytes. */
typedef struct kiln_kernel_launch {
  uint32_t gpu_kernel;
  uint32_t grid[3];
  uint32_t block[3];
  uint32_t shared_bytes;
} kiln_kernel_launch;

/* KILN_STATUS_NOT_FOUND (out_launch zeroed) when the kernel has no launch
 * (a CPU artifact's, or an artifact without LAUNCHES). */
KILN_API kiln_status kiln_model_kernel_launch(const kiln_model *model,
                                              size_t index,
                                              kiln_kernel_launch *out_launch);

/* The inputs and outputs that are ONNX sequences or optionals (the VALUES
 * section). The entry takes tensors only: a sequence of N tensors (N fixed
 * when the model was compiled) is the N inputs or outputs NAME[0] ..
 * NAME[N-1], an optional that holds a tensor is that tensor, an empty one
 * is no tensor. A caller sets and reads those tensors as usual; this says
 * which they are. 0 values if `model` is NULL or it has none. */
KILN_API size_t kiln_model_num_values(const kiln_model *model);

typedef struct kiln_value_info {
  const char *name;      /* the ONNX name */
  int is_output;         /* 1: an output, 0: an input */
  int is_sequence;       /* 1: a sequence (or an optional sequence) */
  int present;           /* 0: an empty optional, which has no tensors */
  const char *type;      /* the ONNX type: "sequence<tensor<float>>" */
  size_t num_tensors;    /* the elements, in order */
  const size_t *tensors; /* their indices among the inputs or outputs */
} kiln_value_info;

/* Describes value `index`; the pointers point into the model. */
KILN_API kiln_status kiln_model_value(const kiln_model *model, size_t index,
                                      kiln_value_info *out_info);
/* What the compiler recorded about kernel `index` (the KERNEL_DETAILS
 * section): the bytes of machine code of its own functions (0 when
 * unknown) and its loop nest in one line ("scf.parallel 4x16 / scf.for
 * 64"; "" when none was recorded), pointing into the model.
 * KILN_STATUS_NOT_FOUND (zeroed) when the artifact has no KERNEL_DETAILS. */
typedef struct kiln_kernel_detail {
  uint64_t code_bytes;
  const char *loop_nest;
} kiln_kernel_detail;
KILN_API kiln_status kiln_model_kernel_detail(const kiln_model *model,
                                              size_t index,
                                              kiln_kernel_detail *out_detail);

/* The memory plan (the MEMORY_PLAN section): the workspace the compiler
 * planned, the most bytes of its buffers live during one kernel, and the
 * number of buffers. KILN_STATUS_NOT_FOUND (zeroed) when the artifact has
 * none (compiled before it existed, or a target that plans none). */
typedef struct kiln_memory_plan {
  uint64_t workspace_bytes;
  uint64_t peak_bytes;
  size_t num_buffers;
} kiln_memory_plan;
KILN_API kiln_status kiln_model_memory_plan(const kiln_model *model,
                                            kiln_memory_plan *out_plan);

/* Buffer `index` of the memory plan: the ONNX nodes that write it (", "
 * separated, may be ""), its type ("4x8xf32"), where it lies in the
 * workspace, and the first and last kernel (kernel table index) that use
 * it. The strings point into the model. */
typedef struct kiln_planned_buffer {
  const char *nodes;
  const char *type;
  uint64_t offset;
  uint64_t bytes;
  uint32_t first_kernel;
  uint32_t last_kernel;
} kiln_planned_buffer;
KILN_API kiln_status kiln_model_planned_buffer(const kiln_model *model,
                                               size_t index,
                                               kiln_planned_buffer *out_buffer);

/* Whether output `index` is a value kiln-compile --dump kept (the DUMPS
 * section) rather than one of the model's outputs: then *out_node is the
 * ONNX node that computes it (pointing into the model). NOT_FOUND (NULL)
 * for a model output, or when the artifact has no dumps. */
KILN_API kiln_status kiln_model_output_dump(const kiln_model *model,
                                            size_t index,
                                            const char **out_node);

/* Number of inputs / outputs; 0 if `model` is NULL. */
KILN_API size_t kiln_model_num_inputs(const kiln_model *model);
KILN_API size_t kiln_model_num_outputs(const kiln_model *model);

/* Describes input / output `index` (in entry-point order). */
KILN_API kiln_status kiln_model_input(const kiln_model *model, size_t index,
                                      kiln_tensor_desc *out_desc);
KILN_API kiln_status kiln_model_output(const kiln_model *model, size_t index,
                                       kiln_tensor_desc *out_desc);

/* Number of symbols, the named dynamic dimensions of the signature ("batch",
 * "seq"); 0 for a static model or if `model` is NULL. Each run gives every
 * symbol one value, read from the shapes of the inputs it is set with. */
KILN_API size_t kiln_model_num_symbols(const kiln_model *model);

/* Describes symbol `index`: its name (pointing into the model) and the range
 * [min, max] its value must lie in. An input or output dim of -(index+1)
 * is this symbol. Any of `out_min`, `out_max` may be NULL. */
KILN_API kiln_status kiln_model_symbol(const kiln_model *model, size_t index,
                                       const char **out_name,
                                       int64_t *out_min, int64_t *out_max);

/* Number of computed symbols: the last kiln_model_num_computed_symbols() of
 * the kiln_model_num_symbols() symbols name output dims that only a run
 * knows (a NonZero's count, a Reshape to a shape the data gives); their
 * range is 0..2^40 and no input names them. A run's output desc
 * (kiln_session_output) has their values. 0 if `model` is NULL. */
KILN_API size_t kiln_model_num_computed_symbols(const kiln_model *model);

/* Index of the input / output called `name`; KILN_STATUS_NOT_FOUND (with the
 * list of valid names in kiln_last_error()) if there is none. */
KILN_API kiln_status kiln_model_find_input(const kiln_model *model,
                                           const char *name, size_t *out_index);
KILN_API kiln_status kiln_model_find_output(const kiln_model *model,
                                            const char *name,
                                            size_t *out_index);

/*===--- Memory limit ----------------------------------------------------===*/

/* The runtime counts every byte of tensor storage it allocates (sessions'
 * inputs and outputs, the CPU target's workspaces) against one limit per
 * process; an allocation that would pass it fails with
 * KILN_STATUS_OUT_OF_MEMORY and a message naming the limit, rather than
 * leaving the kernel's OOM killer to end the process halfway through a run
 * (a model whose symbols allow huge shapes). The default is the machine's
 * physical memory, or $KILN_MEMORY_LIMIT (bytes, or with a K/M/G/T suffix)
 * when set at the first allocation. Buffers the compiled code allocates
 * while it runs are not counted: it cannot report a failure. */

/* Sets the limit in bytes; 0 means none. Takes effect for later
 * allocations; what is allocated stays. */
KILN_API void kiln_set_memory_limit(uint64_t bytes);

/* The limit in bytes (0: none). */
KILN_API uint64_t kiln_memory_limit(void);

/*===--- Sessions
 * ----------------------------------------------------------===*/

/* Creates a session that runs `model` on `device`: NULL or "cpu" (or
 * "cpu:0") for a "cpu-" target; "cuda" (device 0) or "cuda:N" for a "cuda-"
 * target. Allocates every input and output buffer of a static shape up
 * front; those with symbolic dims are allocated when they are set (inputs)
 * or when a run knows their shape (outputs), and reused while they are
 * large enough. Fails with:
 *  - KILN_STATUS_INVALID_ARGUMENT for a device string it does not know;
 *  - KILN_STATUS_UNSUPPORTED if the artifact's target cannot run on the
 *    device (the message names both), e.g. no GPU image fits the GPU;
 *  - KILN_STATUS_DEVICE_UNAVAILABLE if the CUDA driver cannot be loaded
 *    (dlopen of $KILN_CUDA_DRIVER, default "libcuda.so.1"), cannot
 *    initialize (no GPU), or has no device N;
 *  - KILN_STATUS_OUT_OF_MEMORY / KILN_STATUS_DEVICE_ERROR when the device
 *    cannot hold the model or fails an operation.
 * A CUDA session loads the model's kernels, allocates its device memory
 * and uploads the weights here, once. */
KILN_API kiln_status kiln_session_create(kiln_model *model, const char *device,
                                         kiln_session **out_session);

KILN_API void kiln_session_release(kiln_session *session);

/* Sets how many host threads the session's runs may use: `threads` >= 1,
 * or 0 for every core of this machine (the default). A CPU artifact runs
 * its large matrix products on that many threads (LLVM's OpenMP runtime,
 * which the artifact links, owns them); with 1 every run stays on the
 * calling thread. Sessions of other devices accept and ignore it. The
 * setting applies to the session's later runs, from whichever thread
 * calls kiln_session_run. */
KILN_API kiln_status kiln_session_set_threads(kiln_session *session,
                                              uint32_t threads);

/* Profiling. While enabled, each run of the session records an event per
 * kernel (its index in the kernel table) and one for the whole run
 * (kernel KILN_PROFILE_RUN), with CLOCK_MONOTONIC times, until
 * `max_events` are held; later events are counted as dropped. Enabling
 * clears what was recorded; `max_events` 0 disables it and frees the
 * events. A CPU artifact's code tests one pointer per kernel when no
 * session of its model profiles, and calls the runtime's recorder only
 * while one does. A CUDA session times each launch with CUDA events on
 * its stream (device times, placed on the host clock where the run's
 * first event was enqueued) and launches without its CUDA graph while it
 * profiles. Artifacts without a kernel table record runs only. */
#define KILN_PROFILE_RUN UINT32_MAX
typedef struct kiln_profile_event {
  uint32_t kernel;   /* kernel index, or KILN_PROFILE_RUN */
  uint32_t run;      /* 0 for the first run recorded, then 1, ... */
  uint64_t start_ns; /* CLOCK_MONOTONIC */
  uint64_t end_ns;
} kiln_profile_event;

KILN_API kiln_status kiln_session_enable_profile(kiln_session *session,
                                                 size_t max_events);

/* The events recorded so far, in the order they ended (a run's event after
 * its kernels'), valid until the session runs again, is re-enabled or
 * released; `out_dropped` (may be NULL) counts those that did not fit.
 * INVALID_ARGUMENT when profiling is not enabled. */
KILN_API kiln_status kiln_session_profile_get(const kiln_session *session,
                                              const kiln_profile_event **out_events,
                                              size_t *out_count,
                                              uint64_t *out_dropped);

/* Sets input `name`. `dtype` and `rank` must equal the model's, and so
 * must each static dim; a symbolic dim may be any value in its symbol's
 * range (else KILN_STATUS_SHAPE_MISMATCH naming the input, the dim, the
 * symbol and its range; whether the inputs agree on a symbol's value is
 * checked by kiln_session_run). `byte_size` must be the dense row-major size
 * of `dims`, kiln_dtype_size() bytes per element: sub-byte dtypes (int4, uint4, float4e2m1, int2, uint2) take
 * one byte per element, int4/int2 sign-extended and the others
 * zero-extended; a byte outside that range is INVALID_ARGUMENT (outputs of
 * these dtypes come back the same way). The data is COPIED into
 * session-owned, 64-byte-aligned storage, so the caller's buffer may be
 * freed or reused as soon as this returns. `data` may be NULL only when
 * `byte_size` is 0. Setting an input again replaces its value. */
KILN_API kiln_status kiln_session_set_input(kiln_session *session,
                                            const char *name, kiln_dtype dtype,
                                            const int64_t *dims, uint32_t rank,
                                            const void *data, size_t byte_size);

/* Runs the model. Fails with KILN_STATUS_MISSING_INPUT, naming the first
 * input (in model order) that was never set. Each symbol takes its value
 * from the first input dim (in model order) that names it; another dim
 * with a different value is KILN_STATUS_SHAPE_MISMATCH naming both. The
 * outputs' shapes follow from the symbols' values. Inputs keep their
 * values, so a session may run repeatedly. On a CUDA device, returns once the results
 * are back in host memory; a device failure is KILN_STATUS_DEVICE_ERROR
 * (or OUT_OF_MEMORY), after which the outputs are unavailable until a run
 * succeeds. */
KILN_API kiln_status kiln_session_run(kiln_session *session);

/* Output `index` of the last successful run. `*out_data` points into the
 * session (64-byte aligned, never NULL, even for zero-size tensors) and is
 * valid until the next kiln_session_run or kiln_session_release, and so is
 * `out_desc->dims`, which holds this run's actual shape (no symbols).
 * `out_desc`, `out_data` and `out_bytes` must all be non-NULL. Fails with
 * KILN_STATUS_INVALID_ARGUMENT before the first successful run and after a
 * failed one. */
KILN_API kiln_status kiln_session_output(const kiln_session *session,
                                         size_t index,
                                         kiln_tensor_desc *out_desc,
                                         const void **out_data,
                                         size_t *out_bytes);

/*===--- Device memory ----------------------------------------------------===*/

/* For tensors that already live on the session's GPU (a framework's CUDA
 * tensor handed over through DLPack, or the output of another run): they
 * move device to device, never through host memory. Addresses are device
 * addresses (a CUdeviceptr on "cuda:N") in the memory of the session's own
 * device. A CPU session has no device memory: both functions fail there
 * with KILN_STATUS_UNSUPPORTED. */

/* Sets input `name` from `byte_size` bytes at `device_address`. The checks
 * are kiln_session_set_input's (name, dtype, shape, byte size), except that
 * the runtime never reads the data on the host: inputs of sub-byte dtypes,
 * whose values the host checks, and inputs with symbolic dims are
 * UNSUPPORTED here (set them with kiln_session_set_input). The bytes are
 * copied into the session's device buffer before this returns, so the
 * caller's memory may be reused afterwards. The copy runs on the session's
 * own stream, which waits for no other: the caller's writes of the data
 * must be complete (its stream synchronized) first. A copy the device fails
 * (an address outside device memory) is KILN_STATUS_DEVICE_ERROR. */
KILN_API kiln_status kiln_session_set_input_device(
    kiln_session *session, const char *name, kiln_dtype dtype,
    const int64_t *dims, uint32_t rank, uint64_t device_address,
    size_t byte_size);

/* Output `index` of the last successful run where the device computed it:
 * its device address, valid until the next kiln_session_run or
 * kiln_session_release, with the same desc and byte size as
 * kiln_session_output (whose host copy holds the same values). Fails like
 * kiln_session_output before the first successful run and after a failed
 * one. */
KILN_API kiln_status kiln_session_output_device(const kiln_session *session,
                                                size_t index,
                                                kiln_tensor_desc *out_desc,
                                                uint64_t *out_device_address,
                                                size_t *out_bytes);

/*===--- Generation ------------------------------------------------------===*/

/* An artifact of `kiln-compile --generate` is one step of autoregressive
 * decoding over a KV cache (kiln/artifact_format.h, "Generation steps"):
 * its inputs are the tokens [batch, seq], the positions already in each
 * sequence's cache (int64 [batch]) and the caches themselves, which each
 * run updates in place (so, unlike other inputs, their values change). */
typedef struct kiln_generation_info {
  int64_t max_seq;         /* positions each sequence's cache holds */
  size_t tokens_input;     /* input indices (kiln_model_input) */
  size_t positions_input;
  size_t logits_output;    /* output index */
  size_t num_state_inputs; /* the KV caches, kiln_model_state_input */
} kiln_generation_info;

/* Fills `out` for a generation artifact; KILN_STATUS_NOT_FOUND for any
 * other. */
KILN_API kiln_status kiln_model_generation_info(const kiln_model *model,
                                                kiln_generation_info *out);
/* The input index of state input `index` (< num_state_inputs). */
KILN_API kiln_status kiln_model_state_input(const kiln_model *model,
                                            size_t index,
                                            size_t *out_input_index);

/* How the next token is chosen from the last position's logits. */
typedef struct kiln_sampling {
  float temperature; /* 0: greedy (the first largest logit); else the
                        logits are divided by it before the softmax */
  uint32_t top_k;    /* > 0: only the k most likely tokens are drawn */
  float top_p;       /* in (0, 1): only the smallest set of most likely
                        tokens whose probability reaches top_p; 0 or 1: all */
  uint64_t seed;     /* the random stream; the same seed draws the same */
} kiln_sampling;

typedef struct kiln_generation kiln_generation;

/* A generation over `session` (whose model must be a generation artifact)
 * for `batch` sequences decoded together. `sampling` NULL is greedy. The
 * generation owns the session's inputs from now on: the session must not
 * be run or released, nor its inputs set, until the generation is
 * released. Fails with INVALID_ARGUMENT (batch 0, bad sampling values,
 * a batch outside the model's range), NOT_FOUND (not a generation
 * artifact) or UNSUPPORTED (logits not float32, tokens neither int64 nor
 * int32). */
KILN_API kiln_status kiln_generation_create(kiln_session *session,
                                            uint32_t batch,
                                            const kiln_sampling *sampling,
                                            kiln_generation **out_generation);
KILN_API void kiln_generation_release(kiln_generation *generation);

/* Starts the sequences over with a prompt: `tokens` is [batch, length],
 * row-major, the same length for every sequence. Empties the caches, runs
 * the prompt through the model (the prefill) and writes each sequence's
 * next token to `out_next` [batch]. `length` must be at least 1 and at
 * most max_seq. */
KILN_API kiln_status kiln_generation_prefill(kiln_generation *generation,
                                             const int64_t *tokens,
                                             uint32_t length,
                                             int64_t *out_next);

/* Appends one token per sequence (`tokens` [batch], usually the last
 * out_next) and writes the next ones to `out_next` [batch]. Only the new
 * position is computed: the earlier ones are read from the cache. Fails
 * with INVALID_ARGUMENT before a prefill or when the cache is full
 * (kiln_generation_length == max_seq). */
KILN_API kiln_status kiln_generation_step(kiln_generation *generation,
                                          const int64_t *tokens,
                                          int64_t *out_next);

/* Positions each sequence has in the cache (prompt plus steps); 0 before
 * the first prefill or for NULL. */
KILN_API int64_t kiln_generation_length(const kiln_generation *generation);

/*===--- Continuous batching over a paged KV cache -------------------------===*/

/* An artifact of `kiln-compile --generate --kv-block-size B` keeps every
 * sequence's keys and values in one pool of blocks of B positions per
 * cache, and takes an int64 input `block_table` [batch, max_seq / B] that
 * lists each sequence's blocks (kiln/artifact_format.h). A kiln_batch
 * serves requests over such a session: requests of any prompt length join
 * between steps and leave when done, each holding only the blocks its own
 * length needs; a finished request's blocks go back to a free list and are
 * reused by the next ones.
 *
 * kiln_batch_step first admits waiting requests, oldest first, while fewer
 * than max_batch run and the free list holds the blocks the request needs
 * for its prompt plus max_new_tokens (a request that does not fit waits;
 * nothing is preempted), and runs each admitted prompt through the model
 * alone (its prefill, batch 1), sampling its first token; then it runs one
 * decode step over every running request together (batch = the running
 * requests, each at its own length) and samples each one's next token. A
 * request finishes after max_new_tokens tokens (or at one of its stop
 * tokens); its blocks are freed and its tokens wait for kiln_batch_take. */

/* A paged generation artifact's paging (kiln_model_paged_info). */
typedef struct kiln_paged_info {
  int64_t block_size;       /* positions per block */
  int64_t num_blocks;       /* blocks in each cache's pool */
  size_t block_table_input; /* input index of block_table */
  /* Sliding-window (or hierarchical) attentions keep their rings in pools
   * of their own: window_blocks blocks each (0: none is windowed), a
   * sequence holding at most window_columns of them (its row of the input
   * window_block_table) however long it grows. */
  int64_t window_blocks;
  int64_t window_columns;
  size_t window_block_table_input;
  int32_t has_full_pools; /* 0 when every cache is windowed: requests then
                             take no block_table blocks */
} kiln_paged_info;

/* Fills `out` for a paged generation artifact; NOT_FOUND for any other
 * (a contiguous generation artifact included). */
KILN_API kiln_status kiln_model_paged_info(const kiln_model *model,
                                           kiln_paged_info *out);

typedef struct kiln_batch kiln_batch;

typedef struct kiln_batch_options {
  uint32_t max_batch; /* most requests in one decode step; 0: the model's
                         batch range's maximum, at most num_blocks */
} kiln_batch_options;

/* A batching server over `session`, whose model must be a paged
 * generation artifact. `options` NULL takes the defaults. Like
 * kiln_generation, the batch owns the session's inputs until released.
 * Fails with INVALID_ARGUMENT (NULL pointers, max_batch above the model's
 * batch range), NOT_FOUND (not a paged generation artifact) or
 * UNSUPPORTED (logits not float32, tokens neither int64 nor int32). */
KILN_API kiln_status kiln_batch_create(kiln_session *session,
                                       const kiln_batch_options *options,
                                       kiln_batch **out_batch);
/* Frees the batch and every request it holds; NULL is a no-op. */
KILN_API void kiln_batch_release(kiln_batch *batch);

/* Queues a request: `prompt` [length] tokens, then up to max_new_tokens
 * generated ones (>= 1), chosen with `sampling` (NULL: greedy), stopping
 * early after any of the `num_stop` tokens in `stop` (which may be NULL
 * when num_stop is 0). Writes its id (never 0) to `out_request`. Fails
 * with INVALID_ARGUMENT when length is 0, when length + max_new_tokens - 1
 * exceeds max_seq, when the request alone needs more blocks than the pool
 * has, or on bad sampling values; the batch is unchanged then. */
KILN_API kiln_status kiln_batch_add(kiln_batch *batch, const int64_t *prompt,
                                    uint32_t length, uint32_t max_new_tokens,
                                    const kiln_sampling *sampling,
                                    const int64_t *stop, uint32_t num_stop,
                                    uint64_t *out_request);

/* Admits what fits, prefills it, and runs one decode step over the
 * running requests (see above); writes how many requests finished in this
 * step to `out_finished` (may be NULL). With nothing waiting or running it
 * does nothing and returns OK. A failed model run fails the requests it
 * ran (their tokens can still be taken, kiln_batch_take reports the error)
 * and returns its status. */
KILN_API kiln_status kiln_batch_step(kiln_batch *batch, uint32_t *out_finished);

/* Takes the oldest finished request: its id to `out_request`, its number
 * of generated tokens to `out_count` and the tokens to `out_tokens` (room
 * for `capacity`). NOT_FOUND when no request has finished; with capacity
 * below the count, INVALID_ARGUMENT and the request stays (out_request
 * and out_count are still written, to size the next call); a request
 * whose run failed is taken and reported with its tokens so far and
 * INTERNAL. */
KILN_API kiln_status kiln_batch_take(kiln_batch *batch, uint64_t *out_request,
                                     int64_t *out_tokens, size_t capacity,
                                     size_t *out_count);

typedef struct kiln_batch_stats {
  uint32_t waiting;         /* added, not yet admitted */
  uint32_t running;         /* admitted, still generating */
  uint32_t finished;        /* done, not yet taken */
  int64_t free_blocks;      /* blocks in the free list */
  int64_t total_blocks;     /* the pool's blocks */
  int64_t peak_used_blocks; /* most blocks held at once so far */
  uint64_t blocks_handed_out; /* block allocations so far (reuse counts) */
  uint64_t prefills, decode_steps; /* model runs so far */
  /* The same for the windowed attentions' pools (all 0 when none). */
  int64_t window_free_blocks, window_total_blocks, window_peak_used_blocks;
  uint64_t window_blocks_handed_out;
} kiln_batch_stats;

/* Fills `out` with the batch's counts. */
KILN_API kiln_status kiln_batch_get_stats(const kiln_batch *batch,
                                          kiln_batch_stats *out);

/*===--- Parallel runs (partitioned models, kiln/collectives.h)
 * ------------------------------------------------------------===*/

/* A model partitioned for N ranks (kiln-compile --devices N) runs as N
 * processes started by mpirun, each holding one rank's program and
 * weights. A process calls kiln_collectives_init before loading such a
 * model: the runtime dlopens its MPI plugin (libkiln_collectives_mpi.so,
 * beside libkiln_runtime.so or on the loader's path;
 * $KILN_COLLECTIVES_PLUGIN overrides), which initializes MPI. Then
 * kiln_model_load loads this process's rank and checks that the MPI world
 * has exactly the artifact's rank count. `timeout_seconds` bounds how long
 * any collective waits for the other ranks (0: 300 s); past it, or when a
 * peer dies, every rank ends (MPI_Abort) after one line on stderr. Fails
 * with KILN_STATUS_UNSUPPORTED when the plugin or MPI cannot be loaded.
 * Calling it again returns the same rank and size. */
KILN_API kiln_status kiln_collectives_init(double timeout_seconds,
                                           int32_t *out_rank,
                                           int32_t *out_size);

/* Whether kiln_collectives_init has succeeded in this process. */
KILN_API int kiln_collectives_active(void);

/* Copies `bytes` bytes of rank `root`'s buffer into every rank's (all
 * ranks call it). INVALID_ARGUMENT before kiln_collectives_init. */
KILN_API kiln_status kiln_collectives_broadcast(void *buffer, uint64_t bytes,
                                                int32_t root);

/* Ends every rank of the run: the plugin writes "kiln: rank R: <message>"
 * to stderr and calls MPI_Abort with `exit_code`. Does not return once
 * the collectives are active; returns at once otherwise. */
KILN_API void kiln_collectives_abort(const char *message, int32_t exit_code);

/* Finalizes MPI (when the plugin initialized it). Sessions of partitioned
 * models must be released first. */
KILN_API void kiln_collectives_finalize(void);

/* The number of ranks the artifact was partitioned for: 1 for a model
 * that runs on one device (or a NULL model). */
KILN_API uint32_t kiln_model_num_ranks(const kiln_model *model);

/* The rank whose program `model` holds: this process's rank when the
 * collectives were active at load, else 0 (loaded for introspection; its
 * sessions fail with UNSUPPORTED). */
KILN_API uint32_t kiln_model_rank(const kiln_model *model);

/* The plan, one line (e.g. "expert parallelism over 2 ranks"); "" for a
 * model of one rank. */
KILN_API const char *kiln_model_plan(const kiln_model *model);

/* What rank `rank` holds, one line (e.g. "experts 0-1 of every MoE layer;
 * everything else replicated"); NULL when out of range. */
KILN_API const char *kiln_model_rank_summary(const kiln_model *model,
                                             uint32_t rank);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
