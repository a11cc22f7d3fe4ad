/*===- kiln/artifact_format.h - The .kiln artifact file format -----------===*\
|*                                                                            *|
|* The one contract between the compiler (which writes artifacts) and the     *|
|* runtime (which loads them). Plain C so both sides include the same file.   *|
|*                                                                            *|
|* Layout, all integers little-endian:                                        *|
|*                                                                            *|
|*   [0, 64)            kiln_artifact_header                                  *|
|*   section table      section_count x kiln_artifact_section (32 bytes)      *|
|*   sections           each at an offset that is a multiple of 64            *|
|*                                                                            *|
|* The checksum is XXH64 (seed 0) over every byte after the header, so a      *|
|* truncated or corrupted file is detected before anything is interpreted.    *|
|*                                                                            *|
|* Sections:                                                                  *|
|*   METADATA   the I/O signature and the weight table (format below)         *|
|*   HOST_CODE  an ELF shared object exporting the entry symbol               *|
|*   WEIGHTS    raw weight bytes; each weight starts at a 64-byte-aligned     *|
|*              offset so the runtime maps them in place, without copying     *|
|*   GPU_CODE   the kernels of a "cuda-" target: cubin and PTX images         *|
|*              (format in "The CUDA target" below)                           *|
|*   GENERATION optional: the entry is one step of autoregressive generation  *|
|*              over a KV cache (format in "Generation steps" below)          *|
|*   RANKS      a model partitioned for several ranks: every rank's program  *|
|*              (format in "Partitioned models" below)                        *|
|*   KERNELS    optional: the kernel table, each kernel's op kinds and the    *|
|*              ONNX nodes it came from (format in "Kernels" below)           *|
|*   LAUNCHES   optional, "cuda-" targets: each KERNELS row's GPU kernel and  *|
|*              launch shape (format in "Kernels" below)                      *|
|*   VALUES     optional: the inputs and outputs that are ONNX sequences or   *|
|*              optionals (format in "Sequences and optionals" below)         *|
|*   KERNEL_DETAILS optional: each KERNELS row's code size and loop nest     *|
|*   MEMORY_PLAN    optional: the workspace's buffers, their bytes, offsets  *|
|*                  and lives in kernels (both in "Kernels" below)          *|
|*   DUMPS      optional: the outputs kiln-compile --dump added, each with    *|
|*              the ONNX node that computes it (format in "Dumps" below)      *|
|*                                                                            *|
|* METADATA encoding (str = u32 byte length + bytes, no terminator;           *|
|* tensor = str name, u32 dtype, u32 rank, i64 dims[rank]):                   *|
|*   u32 metadata_magic (KILN_METADATA_MAGIC)                                 *|
|*   str target            e.g. "cpu-x86_64"                                  *|
|*   str entry_symbol      e.g. "kiln_entry"                                  *|
|*   u32 num_weights,  then per weight: tensor, u64 offset, u64 byte_size     *|
|*                     (offset relative to the WEIGHTS section)               *|
|*   u32 num_inputs,   then per input:  tensor                                *|
|*   u32 num_outputs,  then per output: tensor                                *|
|*   u64 workspace_bytes   host scratch of a "cpu-" target's entry (the       *|
|*                         intermediates the compiler planned into one        *|
|*                         buffer; may be 0); 0 for every other target        *|
|*   u32 num_symbols,  then per symbol: str name, i64 min, i64 max            *|
|*                     (version 3; a version-2 METADATA ends before it)       *|
|*   u32 num_computed,  then per computed symbol: str name (version 3,        *|
|*                      optional: present only when there are any; symbol     *|
|*                      num_symbols + c is computed symbol c)                 *|
|*                                                                            *|
|* Symbolic (dynamic) dimensions, version 3: an input or output dim that is   *|
|* negative, -(k+1), is symbol k of the table above; its value is chosen by   *|
|* each run, within [min, max], and is the same wherever the symbol occurs.   *|
|* The runtime takes every symbol's value from the inputs' actual shapes      *|
|* (so each symbol occurs in at least one input dim) and computes the         *|
|* outputs' shapes from them. Weights are always static.                      *|
|* A computed symbol names an OUTPUT dim that only the run knows (a NonZero's *|
|* count, a Reshape to a shape the input data gives); no input names one.     *|
|*                                                                            *|
|* Entry point of HOST_CODE for a "cpu-" target (e.g. "cpu-x86_64"): void     *|
|* kiln_entry(void **buffers), where buffers holds, in order, one pointer     *|
|* per weight, per input and per output (dense, row-major at this run's       *|
|* shapes; bool is one byte per element), then one pointer to the workspace,  *|
|* then, only when there are symbols, one pointer to int64_t                  *|
|* symbol_values[]: this run's value of each symbol, in table order           *|
|* (read-only), then one slot per computed symbol, then per output with a     *|
|* computed dim (in output order) its buffer's capacity in elements, then,    *|
|* when there is such an output, a status word the runtime sets to 0.         *|
|* Outputs are written in place; a symbolic output's buffer holds exactly     *|
|* its size at this run's shape. An output with a computed dim: the entry     *|
|* writes each computed dim into its slot, and its data only when it fits     *|
|* the capacity; otherwise it sets the status to 1 and the runtime grows the  *|
|* buffer to the reported shape and runs again. A buffer's address may        *|
|* differ from one run to the next. The workspace is 64-byte aligned,         *|
|* non-null, at least                                                         *|
|* max(workspace_bytes, 64) bytes, owned by the runtime for as long as the    *|
|* session lives and used by one run at a time; its contents on entry are     *|
|* unspecified. The entry allocates nothing else for the top-level            *|
|* intermediates (only per-thread scratch inside parallel loops), except      *|
|* intermediates whose size depends on symbols, which it may allocate on      *|
|* each run. (The entry of a "cuda-" target has another signature; see "The   *|
|* CUDA target" below.)                                                       *|
|* HOST_CODE may also export KILN_ALLOCATOR_SYMBOL, a kiln_allocator_hooks   *|
|* (below) through which its code allocates and frees its buffers; the       *|
|* runtime fills it in after loading, before the first call (null hooks:     *|
|* the code uses malloc and free).                                          *|
|*                                                                            *|
|* Sub-byte dtypes (int4, uint4, float4e2m1: 4 bits; int2, uint2: 2 bits;     *|
|* see kiln/dtype.h) are laid out differently in the two places they occur:   *|
|*  - WEIGHTS stores them PACKED, ONNX's layout: byte_size is                 *|
|*    ceil(elements x bits / 8) = kiln_dtype_packed_size(dtype, elements),    *|
|*    element 0 in the low bits of the first byte (low nibble / low 2         *|
|*    bits), the unused high bits of the last byte zero. The entry point      *|
|*    receives a pointer to these packed bytes, as it does for every weight.  *|
|*  - Inputs and outputs hold ONE element per byte (kiln_dtype_size() is 1):  *|
|*    int4/int2 sign-extended to int8, uint4/uint2 zero-extended to uint8,    *|
|*    float4e2m1 its 4-bit code in the low bits, high bits zero. The          *|
|*    runtime rejects an input byte outside its dtype's range.                *|
|* float8 dtypes (e4m3fn, e4m3fnuz, e5m2, e5m2fnuz, e8m0) are one byte per    *|
|* element everywhere, the bit pattern as in ONNX.                            *|
|*                                                                            *|
|* What the runtime checks when loading (clarifications, not changes; a       *|
|* writer that follows them is accepted by every version-3 runtime, which     *|
|* reads version 2 too):                                                      *|
|*  - header_size == 64 and file_size == the exact size of the file.          *|
|*  - The section table lies at an 8-byte-aligned offset >= 64 inside the     *|
|*    file; no section overlaps the header or the table.                      *|
|*  - Each known section kind appears at most once; METADATA is required,     *|
|*    HOST_CODE is required when the target starts with "cpu-" or "cuda-",    *|
|*    GPU_CODE when it starts with "cuda-". Unknown kinds are skipped. A      *|
|*    GPU_CODE section is validated whatever the target.                      *|
|*  - A section's size is its exact length; METADATA may be followed by       *|
|*    zero padding inside its size, nothing else.                             *|
|*  - Strings contain no NUL byte; target and entry_symbol are non-empty;     *|
|*    input and output names are non-empty and unique among inputs (and       *|
|*    among outputs).                                                         *|
|*  - dtype is one kiln_dtype_size() knows; weight dims are >= 0; an input    *|
|*    or output dim is >= 0 or names a symbol of the table (-(k+1) with       *|
|*    k < num_symbols; so in version 2, which has no table, every dim >= 0).  *|
|*  - Symbols: names non-empty, without NUL, unique; 0 <= min <= max <=       *|
|*    2^40 (KILN_MAX_SYMBOL_VALUE); each one used by at least one input dim.  *|
|*    Computed symbols: names as above (unique among all symbols); no input   *|
|*    dim names one.                                                          *|
|*  - workspace_bytes is below 2^63 (SIZE_MAX / 2 on 64-bit hosts), and 0     *|
|*    when the target does not start with "cpu-". Failing to allocate it is   *|
|*    KILN_STATUS_OUT_OF_MEMORY at session creation, not a load error.        *|
|*  - A weight's byte_size equals kiln_dtype_packed_size(dtype, elements)     *|
|*    (elements x dtype size, packed for sub-byte dtypes); its offset is a    *|
|*    multiple of 64 and [offset, offset + byte_size) lies in WEIGHTS. A      *|
|*    zero-size weight needs no WEIGHTS bytes and is passed a valid dummy     *|
|*    pointer, as are zero-size inputs and outputs.                           *|
|*                                                                            *|
|* The CUDA target                                                            *|
|* ---------------                                                            *|
|* Target string: "cuda-" followed by the GPU architectures the artifact      *|
|* holds code for, comma separated, no spaces: "cuda-sm_90a,sm_80". An        *|
|* architecture is "sm_" + the compute capability's major and minor digits    *|
|* (2 or 3 digits, no leading zero: sm_80 is 8.0, sm_100 is 10.0), plus an    *|
|* optional suffix: 'a' (arch-specific features, e.g. wgmma: that exact       *|
|* compute capability only) or 'f' (family: same major, same or higher        *|
|* minor).                                                                    *|
|*                                                                            *|
|* GPU_CODE encoding (str, u32, u64 as in METADATA):                          *|
|*   u32 magic             KILN_GPU_CODE_MAGIC                                *|
|*   u64 workspace_bytes   device scratch the entry uses (one arena that the  *|
|*                         compiler planned; may be 0)                        *|
|*   u32 num_kernels,  then per kernel: str name (the kernel's index in       *|
|*                     kiln_gpu_calls.launch is its position here)            *|
|*   u32 num_images,   then per image: str arch, u32 format, u64 offset,      *|
|*                     u64 size (offset relative to the GPU_CODE section)     *|
|* format: KILN_GPU_IMAGE_CUBIN (1), a cubin ELF for exactly that arch; or    *|
|* KILN_GPU_IMAGE_PTX (2), PTX text whose last byte (inside size) is the      *|
|* terminating NUL. Every image holds every kernel of the table.              *|
|*                                                                            *|
|* What the runtime checks when loading:                                      *|
|*  - magic; every read inside the section; counts that fit the bytes left.   *|
|*  - Kernel names: non-empty, no NUL, unique.                                *|
|*  - num_images >= 1; arch as above; format 1 or 2; no two images with the   *|
|*    same arch and format; size > 0; offset a multiple of 64, at or after    *|
|*    the end of the image table, and [offset, offset + size) inside the      *|
|*    section; a cubin starts with the ELF magic, a PTX ends with a NUL.      *|
|*  - For a "cuda-" target: HOST_CODE and GPU_CODE present; the target's      *|
|*    arch list is valid and has no duplicates; the archs of the images are   *|
|*    exactly the archs the target lists.                                     *|
|*  - Symbolic dims load (for introspection), but the CUDA backend does not   *|
|*    run them yet: creating a session is KILN_STATUS_UNSUPPORTED.            *|
|* Bytes between and after the images are not interpreted (pad with zeros).   *|
|*                                                                            *|
|* Which image runs on a device of compute capability M.m: a cubin whose      *|
|* arch is exactly M.m (sm_90 or sm_90a on 9.0), the first in table order;    *|
|* else, JIT-compiled by the driver, the PTX of the highest arch the device   *|
|* can run (plain: <= M.m; 'f': same major, <= m; 'a': == M.m), the first     *|
|* in table order among equals; else the session fails with UNSUPPORTED.      *|
|*                                                                            *|
|* HOST_CODE of a "cuda-" target is an ELF shared object too, run on the      *|
|* host. Its entry symbol (METADATA's entry_symbol) has the signature         *|
|* kiln_gpu_entry_fn of kiln/gpu_calls.h:                                     *|
|*   int32_t entry(void **buffers, void *workspace,                           *|
|*                 const kiln_gpu_calls *calls, void *ctx);                   *|
|*  - buffers: DEVICE pointers, one per weight, input and output, in the      *|
|*    CPU target's order and layout (sub-byte weights packed, sub-byte I/O    *|
|*    one element per byte). Each is 256-byte aligned and non-null, also      *|
|*    for zero-size tensors. Weights are uploaded once, when the session is   *|
|*    created, and must not be written. Inputs hold this run's values.        *|
|*    Outputs are read back after the entry's work completes; every byte      *|
|*    must be written (they start as zeros, then hold the last run's).        *|
|*  - workspace: a device pointer, 256-byte aligned (so 16-byte aligned),     *|
|*    non-null, with max(workspace_bytes, 256) bytes; all intermediates       *|
|*    live there at offsets the compiler chose. Its contents on entry are     *|
|*    unspecified. The host code never allocates device memory.               *|
|*  - calls, ctx: the runtime's launch / copy / memset functions and their    *|
|*    first argument. They only enqueue work, in order, on the session's      *|
|*    stream.                                                                 *|
|*  - Returns 0, or, at once, the first non-zero value a call returned.       *|
|*  - The entry must make the same calls with the same arguments on every     *|
|*    run (it cannot read device memory, so it has no reason not to): the     *|
|*    runtime captures one run into a CUDA graph and replays that graph       *|
|*    instead of calling the entry again.                                     *|
|*                                                                            *|
|* Generation steps                                                           *|
|* ----------------                                                           *|
|* kiln-compile --generate turns a causal decoder into one step over a KV     *|
|* cache; the step serves the prefill (the prompt, seq tokens) and each       *|
|* decode step (seq = 1). GENERATION encoding (str, u32, i64 as in METADATA): *|
|*   u32 magic        KILN_GENERATION_MAGIC                                   *|
|*   i64 max_seq      positions each sequence's cache holds                   *|
|*   str tokens       input: integer tokens [batch, seq]                      *|
|*   str positions    input: int64 [batch], positions already in each         *|
|*                    sequence's cache (where this step's tokens go)          *|
|*   str logits       output: float [batch, seq, vocab]                       *|
|*   u32 num_state,  then per state input: str name                           *|
|* and, only for a paged cache (kiln-compile --kv-block-size), a tail:        *|
|*   u32 magic        KILN_GENERATION_PAGED_MAGIC                             *|
|*   i64 block_size   positions per block                                     *|
|*   i64 num_blocks   blocks in each state input's pool                       *|
|*   str block_table  input: int64 [batch, max_seq / block_size], each        *|
|*                    sequence's pool blocks in position order               *|
|* and after it, only when sliding-window (or hierarchical) attentions keep   *|
|* their rings in blocks of pools of their own, a window tail:              *|
|*   u32 magic        KILN_GENERATION_WINDOW_MAGIC                            *|
|*   i64 window_blocks       blocks in each windowed pool                     *|
|*   str window_block_table  input: int64 [batch, W], each sequence's blocks  *|
|*                           of its rings (W blocks span the widest ring)     *|
|*   u32 num_window,  then per windowed pool: str name (a state input)        *|
|* A windowed pool is [window_blocks, kv_heads, block_size, head]; a         *|
|* sequence needs at most W of its blocks whatever its length.               *|
|* A paged state input is a pool [num_blocks, kv_heads, block_size, head]     *|
|* shared by the batch. The runtime checks 1 <= block_size, block_size       *|
|* divides max_seq, 1 <= num_blocks <= 2^31, and that block_table names an    *|
|* int64 rank-2 input other than tokens, positions and the states. A runtime  *|
|* without paging refuses the tail ("bytes after the last state input").      *|
|* A state input (a KV cache, [batch, kv_heads, max_seq, head_size]) is read  *|
|* AND written by the entry, in place, in the buffer the runtime passes: it   *|
|* is not among the outputs, and it holds the updated cache after a run, so   *|
|* a runtime keeps it between steps (zero it before a sequence's first        *|
|* step: positions not yet written are masked, but must not be NaN).         *|
|* What the runtime checks: magic; the three names name an input, an input   *|
|* and an output of those dtypes and ranks; the state names name distinct    *|
|* inputs other than tokens and positions; 1 <= max_seq <=                    *|
|* KILN_MAX_SYMBOL_VALUE. Version 4 adds this section; a version-3 runtime    *|
|* refuses the file instead of running the step without keeping its state.    *|
|*                                                                            *|
|* Kernels                                                                    *|
|* -------                                                                    *|
|* The host code of a "cpu-" target calls the function that its exported     *|
|* KILN_PROFILER_SYMBOL points to (a kiln_profiler_hook, null when nobody *|
|* profiles: the code then only tests the pointer) at the start (phase 0)     *|
|* and the end (phase 1) of each kernel, a top-level loop nest of the entry,  *|
|* on the thread that called the entry, with the kernel's index in this       *|
|* table. No version bump: the section is optional, and older runtimes skip   *|
|* it. KERNELS encoding (str, u32 as in METADATA):                            *|
|*   u32 magic        KILN_KERNELS_MAGIC                                      *|
|*   u32 num_kernels, then per kernel:                                        *|
|*     str name       e.g. "rms_norm", "matmul+add" (need not be unique)      *|
|*     u32 num_kinds,  then per kind: str kind ("kiln.rms_norm"; may be 0)    *|
|*     u32 num_nodes,  then per node: str name of an ONNX node (may be 0)     *|
|* What the runtime checks: magic; every read inside the section; counts     *|
|* that fit the bytes left; names non-empty, without NUL; nothing after the   *|
|* last kernel.                                                               *|
|*                                                                            *|
|* A "cuda-" target's KERNELS has one row per GPU kernel launch of the entry, *|
|* in the order the entry launches them (every launch happens once a run:     *|
|* the compiler writes no table when one is inside a loop or a branch). The  *|
|* runtime times launches with CUDA events and names the Nth launch of a run *|
|* kernel N. LAUNCHES, beside it, says what each row launches; a separate     *|
|* section so that runtimes that predate it skip it and still read KERNELS:  *|
|*   u32 magic        KILN_LAUNCHES_MAGIC                                     *|
|*   u32 num_launches (equal to KERNELS' num_kernels), then per launch:       *|
|*     u32 gpu_kernel  index in GPU_CODE's kernel table                       *|
|*     u32 grid[3], u32 block[3]  x, y, z; 0 where only the run knows it      *|
|*     u32 shared_bytes  workgroup (shared) memory of the kernel: static      *|
|*                       plus the launch's dynamic bytes                      *|
|* What the runtime checks: magic; KERNELS present with as many rows; each    *|
|* gpu_kernel below GPU_CODE's num_kernels; exactly 32 bytes a launch.        *|
|*                                                                            *|
|* Sequences and optionals                                                    *|
|* -----------------------                                                    *|
|* The entry takes and returns tensors only. A graph input or output that is  *|
|* a sequence of N tensors (N fixed at compile time) is N inputs or outputs   *|
|* named NAME[0] .. NAME[N-1]; an optional that holds a tensor is that tensor *|
|* (named NAME); an empty optional is no tensor. VALUES says which tensors    *|
|* form each such value, so that callers pass and return them whole. No      *|
|* version bump: the section is optional, and older runtimes skip it.         *|
|* VALUES encoding (str, u32 as in METADATA):                                 *|
|*   u32 magic        KILN_VALUES_MAGIC                                       *|
|*   u32 num_values,  then per value:                                         *|
|*     str name       the ONNX name (not an input's or output's name unless   *|
|*                    it is an optional tensor, whose tensor has its name)    *|
|*     u32 role       0 input, 1 output                                       *|
|*     u32 flags      bit 0: a sequence; bit 1: present (an optional that is  *|
|*                    empty, or whose input was compiled empty, has it 0)     *|
|*     str type       the ONNX type, e.g. "sequence<tensor<float>>"           *|
|*     u32 num_tensors, then per tensor: str name of an input (role 0) or    *|
|*                    an output (role 1), in element order                    *|
|* What the runtime checks: magic; every read inside the section; names      *|
|* non-empty, unique per role; each tensor names an input or output of the   *|
|* role, used by one value only; an absent value has no tensors, a present   *|
|* non-sequence exactly one; nothing after the last value.                    *|
|* KERNEL_DETAILS and MEMORY_PLAN describe the program for kiln-inspect;      *|
|* nothing runs differently with or without them (older runtimes skip them,   *|
|* and a table of another magic, a later revision, is reported as corrupt    *|
|* rather than misread). KERNEL_DETAILS encoding:                            *|
|*   u32 magic        KILN_KERNEL_DETAILS_MAGIC                               *|
|*   u32 num_kernels  (equal to KERNELS' num_kernels), then per kernel:       *|
|*     u64 code_bytes  machine code of the kernel's own functions (a CPU     *|
|*                     kernel's outlined loop nests and parallel bodies, a    *|
|*                     function two kernels share counting in both; a CUDA    *|
|*                     launch's kernel function in the first cubin); 0 when   *|
|*                     unknown                                                *|
|*     str loop_nest   e.g. "scf.parallel 4x16 / scf.for 64" (may be empty)   *|
|* MEMORY_PLAN encoding:                                                      *|
|*   u32 magic        KILN_MEMORY_PLAN_MAGIC                                  *|
|*   u64 workspace_bytes  the planned arena (METADATA's workspace_bytes on    *|
|*                        the CPU, GPU_CODE's on CUDA)                        *|
|*   u64 peak_bytes   the most buffer bytes live during one kernel            *|
|*   u32 num_buffers, then per buffer:                                        *|
|*     str nodes      the ONNX nodes that write it, ", "-separated (may be    *|
|*                    empty)                                                 *|
|*     str type       its shape and element type, e.g. "4x8xf32"              *|
|*     u64 offset, u64 bytes   where it lies in the workspace                 *|
|*     u32 first_kernel, u32 last_kernel   the first and last kernel (KERNELS *|
|*                    index) that use it                                      *|
|* What the runtime checks: magic; KERNELS present (and for KERNEL_DETAILS    *|
|* as many rows); every read inside the section, counts that fit the bytes   *|
|* left, nothing after the last entry; strings without NUL; first_kernel <=   *|
|* last_kernel < num_kernels; offset + bytes <= workspace_bytes.              *|
|*                                                                            *|
|* Dumps                                                                      *|
|* -----                                                                      *|
|* kiln-compile --dump NODE / --dump-all keeps intermediate values as extra   *|
|* outputs after the model's own. DUMPS encoding:                             *|
|*   u32 magic        KILN_DUMPS_MAGIC                                        *|
|*   u32 first_output the index of the first dumped output                   *|
|*   u32 num_dumps,  then per dumped output (in output order): str node, the  *|
|*                   ONNX node whose output it is (non-empty)                 *|
|* What the runtime checks: magic; first_output + num_dumps == num_outputs;   *|
|* names non-empty without NUL; nothing after the last.                       *|
|*                                                                            *|
|* Partitioned models                                                         *|
|* ------------------                                                         *|
|* kiln-compile --devices N writes one file holding the program of each of    *|
|* the N ranks of its plan (format version 5). The file's METADATA is rank    *|
|* 0's (the model's signature: every rank has the same inputs and outputs);  *|
|* its RANKS section holds each rank's complete artifact (versions 2 to 4,    *|
|* with its own header, checksum, METADATA, HOST_CODE and only the weights   *|
|* that rank holds: a rank's share of the experts is stored once, in its own  *|
|* artifact; replicated weights are stored in each rank's).                   *|
|* RANKS encoding (str, u32, u64 as in METADATA):                             *|
|*   u32 magic        KILN_RANKS_MAGIC                                        *|
|*   u32 num_ranks    2 <= num_ranks <= KILN_MAX_RANKS                        *|
|*   str plan         one line, e.g. "expert parallelism (ep=2)"              *|
|*   per rank: str summary (what it holds, one line), u64 offset, u64 size    *|
|*             (offset relative to the RANKS section, a multiple of 64)       *|
|* The runtime loads the rank of the process (kiln_collectives_init; rank 0  *|
|* for introspection otherwise) and checks: magic, counts, each rank's        *|
|* [offset, offset + size) inside the section and aligned, and, for the rank  *|
|* it loads, that its artifact is valid, has no RANKS section of its own, and *|
|* has the same target, inputs and outputs as the file's METADATA. Rank R's   *|
|* HOST_CODE exports the KILN_COLLECTIVES_SYMBOL of kiln/collectives.h.       *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef KILN_ARTIFACT_FORMAT_H
#define KILN_ARTIFACT_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_ARTIFACT_MAGIC "KILNART"  /* 7 chars + NUL = 8 bytes */
/* 2: XXH64 checksum; METADATA ends with workspace_bytes (CPU workspace).
 * 3: METADATA ends with the symbol table; input and output dims may name
 *    symbols; the CPU entry takes the symbols' values after the workspace.
 * 4: the optional GENERATION section (written as version 4 only when
 *    present; otherwise writers still write 3).
 * 5: the RANKS section (a partitioned model; written as version 5 only
 *    then).
 * A runtime reads every version from KILN_ARTIFACT_MIN_FORMAT_VERSION to
 * KILN_ARTIFACT_FORMAT_VERSION. */
#define KILN_ARTIFACT_FORMAT_VERSION 5u
/* The version of a file with a GENERATION section. */
#define KILN_ARTIFACT_GENERATION_VERSION 4u
/* The version of a file with a RANKS section. */
#define KILN_ARTIFACT_RANKS_VERSION 5u
/* The most ranks one artifact may hold. */
#define KILN_MAX_RANKS 4096u
/* What a writer writes for an artifact without a GENERATION section. */
#define KILN_ARTIFACT_BASE_FORMAT_VERSION 3u
#define KILN_ARTIFACT_MIN_FORMAT_VERSION 2u
/* The first version with a symbol table in METADATA. */
#define KILN_ARTIFACT_SYMBOLS_VERSION 3u
/* The largest value a symbol's range may reach (2^40): far beyond any real
 * dimension, and small enough that a symbol's value times a static
 * extent is far from overflowing int64. */
#define KILN_MAX_SYMBOL_VALUE (INT64_C(1) << 40)
#define KILN_ARTIFACT_HEADER_SIZE 64u
#define KILN_ARTIFACT_SECTION_ENTRY_SIZE 32u
#define KILN_ARTIFACT_ALIGNMENT 64u
#define KILN_METADATA_MAGIC 0x314D444Bu /* "KDM1" little-endian */
#define KILN_ENTRY_SYMBOL "kiln_entry"
#define KILN_GPU_CODE_MAGIC 0x3143474Bu /* "KGC1" little-endian */
#define KILN_GENERATION_MAGIC 0x314E474Bu /* "KGN1" little-endian */
#define KILN_GENERATION_PAGED_MAGIC 0x3150474Bu /* "KGP1" little-endian */
#define KILN_GENERATION_WINDOW_MAGIC 0x3157474Bu /* "KGW1" little-endian */
#define KILN_RANKS_MAGIC 0x314B524Bu /* "KRK1" little-endian */
#define KILN_KERNELS_MAGIC 0x314E4B4Bu /* "KKN1" little-endian */
#define KILN_LAUNCHES_MAGIC 0x314E4C4Bu /* "KLN1" little-endian */
#define KILN_VALUES_MAGIC 0x314C564Bu   /* "KVL1" little-endian */
/* VALUES flags. */
#define KILN_VALUE_SEQUENCE 1u
#define KILN_VALUE_PRESENT 2u
#define KILN_KERNEL_DETAILS_MAGIC 0x31444B4Bu /* "KKD1" little-endian */
#define KILN_MEMORY_PLAN_MAGIC 0x31504D4Bu    /* "KMP1" little-endian */
#define KILN_DUMPS_MAGIC 0x3150444Bu          /* "KDP1" little-endian */

typedef struct kiln_artifact_header {
  char magic[8];                 /* KILN_ARTIFACT_MAGIC, NUL padded */
  uint32_t format_version;       /* KILN_ARTIFACT_FORMAT_VERSION */
  uint32_t header_size;          /* KILN_ARTIFACT_HEADER_SIZE */
  uint64_t file_size;            /* total bytes in the file */
  uint32_t section_count;
  uint32_t reserved0;
  uint64_t section_table_offset;
  uint64_t checksum;             /* XXH64 of bytes [header_size, file_size) */
  uint8_t reserved[16];
} kiln_artifact_header;

typedef enum kiln_section_kind {
  KILN_SECTION_METADATA = 1,
  KILN_SECTION_HOST_CODE = 2,
  KILN_SECTION_WEIGHTS = 3,
  KILN_SECTION_GPU_CODE = 4,        /* kernels of a "cuda-" target */
  KILN_SECTION_GENERATION = 5,      /* a generation step's roles and state */
  KILN_SECTION_RANKS = 6,           /* every rank's artifact (version 5) */
  KILN_SECTION_KERNELS = 7,         /* the kernel table (optional) */
  KILN_SECTION_LAUNCHES = 8,        /* the kernels' launch shapes (optional) */
  KILN_SECTION_VALUES = 9,          /* sequence and optional values (optional) */
  KILN_SECTION_KERNEL_DETAILS = 10, /* code size, loop nest (optional) */
  KILN_SECTION_MEMORY_PLAN = 11,    /* the workspace's buffers (optional) */
  KILN_SECTION_DUMPS = 12           /* dumped outputs' nodes (optional) */
} kiln_section_kind;

/* The format of one GPU_CODE image. */
typedef enum kiln_gpu_image_format {
  KILN_GPU_IMAGE_CUBIN = 1, /* cubin ELF for exactly its arch */
  KILN_GPU_IMAGE_PTX = 2    /* PTX text, NUL-terminated inside its size */
} kiln_gpu_image_format;

/* The allocator hooks a HOST_CODE object may export (KILN_ALLOCATOR_SYMBOL):
 * malloc-compatible functions (16-byte aligned blocks, null on failure,
 * thread-safe) that its code calls for every buffer it allocates at run
 * time; null members mean malloc and free. */
#define KILN_ALLOCATOR_SYMBOL "kiln_allocator"
typedef struct kiln_allocator_hooks {
  void *(*allocate)(size_t bytes);
  void (*release)(void *pointer);
} kiln_allocator_hooks;

/* The profiler hook a HOST_CODE object may export (KILN_PROFILER_SYMBOL):
 * a pointer, null until the runtime profiles, to a function called with a
 * kernel's index in the KERNELS table and 0 (it starts) or 1 (it ended). */
#define KILN_PROFILER_SYMBOL "kiln_profiler"
typedef void (*kiln_profiler_hook)(uint32_t kernel, uint32_t phase);

typedef struct kiln_artifact_section {
  uint32_t kind;  /* kiln_section_kind */
  uint32_t flags; /* 0 */
  uint64_t offset;
  uint64_t size;
  uint64_t reserved;
} kiln_artifact_section;

/* The artifact checksum: XXH64 with seed 0 (the published xxHash64
 * algorithm, so `xxhsum -H64` over the bytes after the header agrees). It
 * replaced FNV-1a in format version 2: FNV-1a hashes one byte per
 * multiply, 0.4 s for a 217 MB model at every compile and every load;
 * XXH64 runs four independent lanes over 8-byte words, at memory speed.
 * Incremental, for files written as pieces: init, update with each piece,
 * final. kiln_checksum hashes one buffer. */
typedef struct kiln_checksum_state {
  uint64_t lane[4];
  uint64_t total;               /* bytes seen */
  unsigned char stripe[32];     /* the unfinished stripe */
  uint32_t stripe_size;
} kiln_checksum_state;

#define KILN_XXH_PRIME1 0x9E3779B185EBCA87ull
#define KILN_XXH_PRIME2 0xC2B2AE3D27D4EB4Full
#define KILN_XXH_PRIME3 0x165667B19E3779F9ull
#define KILN_XXH_PRIME4 0x85EBCA77C2B2AE63ull
#define KILN_XXH_PRIME5 0x27D4EB2F165667C5ull

static inline uint64_t kiln_xxh_rotl(uint64_t x, int r) {
  return (x << r) | (x >> (64 - r));
}
/* Little-endian loads (the format is little-endian; so are its hosts). */
static inline uint64_t kiln_xxh_read64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}
static inline uint64_t kiln_xxh_read32(const unsigned char *p) {
  uint32_t v;
  memcpy(&v, p, sizeof(v));
  return v;
}
static inline uint64_t kiln_xxh_round(uint64_t acc, uint64_t input) {
  acc += input * KILN_XXH_PRIME2;
  return kiln_xxh_rotl(acc, 31) * KILN_XXH_PRIME1;
}
static inline uint64_t kiln_xxh_merge(uint64_t hash, uint64_t lane) {
  hash ^= kiln_xxh_round(0, lane);
  return hash * KILN_XXH_PRIME1 + KILN_XXH_PRIME4;
}

static inline void kiln_checksum_init(kiln_checksum_state *s) {
  memset(s, 0, sizeof(*s));
  s->lane[0] = KILN_XXH_PRIME1 + KILN_XXH_PRIME2;
  s->lane[1] = KILN_XXH_PRIME2;
  s->lane[2] = 0;
  s->lane[3] = 0 - KILN_XXH_PRIME1;
}

static inline void kiln_checksum_stripe(kiln_checksum_state *s,
                                        const unsigned char *p) {
  s->lane[0] = kiln_xxh_round(s->lane[0], kiln_xxh_read64(p));
  s->lane[1] = kiln_xxh_round(s->lane[1], kiln_xxh_read64(p + 8));
  s->lane[2] = kiln_xxh_round(s->lane[2], kiln_xxh_read64(p + 16));
  s->lane[3] = kiln_xxh_round(s->lane[3], kiln_xxh_read64(p + 24));
}

static inline void kiln_checksum_update(kiln_checksum_state *s,
                                        const void *data, uint64_t size) {
  const unsigned char *p = (const unsigned char *)data;
  s->total += size;
  if (s->stripe_size) { /* finish the stripe a previous piece began */
    uint64_t take = 32 - s->stripe_size;
    if (take > size)
      take = size;
    memcpy(s->stripe + s->stripe_size, p, (size_t)take);
    s->stripe_size += (uint32_t)take;
    p += take;
    size -= take;
    if (s->stripe_size < 32)
      return;
    kiln_checksum_stripe(s, s->stripe);
    s->stripe_size = 0;
  }
  for (; size >= 32; p += 32, size -= 32)
    kiln_checksum_stripe(s, p);
  memcpy(s->stripe, p, (size_t)size);
  s->stripe_size = (uint32_t)size;
}

static inline uint64_t kiln_checksum_final(const kiln_checksum_state *s) {
  uint64_t h;
  if (s->total >= 32) {
    h = kiln_xxh_rotl(s->lane[0], 1) + kiln_xxh_rotl(s->lane[1], 7) +
        kiln_xxh_rotl(s->lane[2], 12) + kiln_xxh_rotl(s->lane[3], 18);
    for (int i = 0; i < 4; ++i)
      h = kiln_xxh_merge(h, s->lane[i]);
  } else {
    h = KILN_XXH_PRIME5; /* seed 0 */
  }
  h += s->total;
  const unsigned char *p = s->stripe;
  uint32_t left = s->stripe_size;
  for (; left >= 8; p += 8, left -= 8) {
    h ^= kiln_xxh_round(0, kiln_xxh_read64(p));
    h = kiln_xxh_rotl(h, 27) * KILN_XXH_PRIME1 + KILN_XXH_PRIME4;
  }
  if (left >= 4) {
    h ^= kiln_xxh_read32(p) * KILN_XXH_PRIME1;
    h = kiln_xxh_rotl(h, 23) * KILN_XXH_PRIME2 + KILN_XXH_PRIME3;
    p += 4;
    left -= 4;
  }
  for (; left > 0; ++p, --left) {
    h ^= (*p) * KILN_XXH_PRIME5;
    h = kiln_xxh_rotl(h, 11) * KILN_XXH_PRIME1;
  }
  h ^= h >> 33;
  h *= KILN_XXH_PRIME2;
  h ^= h >> 29;
  h *= KILN_XXH_PRIME3;
  h ^= h >> 32;
  return h;
}

static inline uint64_t kiln_checksum(const void *data, uint64_t size) {
  kiln_checksum_state s;
  kiln_checksum_init(&s);
  kiln_checksum_update(&s, data, size);
  return kiln_checksum_final(&s);
}

#ifdef __cplusplus
}
#endif

#endif /* KILN_ARTIFACT_FORMAT_H */
