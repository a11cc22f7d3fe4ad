// Times one ONNX model on onnxruntime's CPU provider (npm's
// onnxruntime-node): the median and minimum of REPEAT runs after WARMUP
// runs, with the inputs given as .npy files. Prints one JSON line:
//   {"median_ms": ..., "min_ms": ..., "runs": REPEAT, "version": "1.30.0"}
// With --output-dir, also writes each output of the last run to
// DIR/NAME.npy (for comparing with Kiln's outputs).
//
// Usage: node ort_time.js --ort PATH --model M.onnx --threads N
//            --repeat R [--warmup W] [--output-dir DIR] NAME=FILE.npy...
'use strict';
const fs = require('fs');
const path = require('path');

const opts = {ort: 'onnxruntime-node', threads: 1, repeat: 50, warmup: 5,
              inputs: {}};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--ort') opts.ort = path.resolve(argv[++i]);
  else if (a === '--model') opts.model = argv[++i];
  else if (a === '--threads') opts.threads = Number(argv[++i]);
  else if (a === '--repeat') opts.repeat = Number(argv[++i]);
  else if (a === '--warmup') opts.warmup = Number(argv[++i]);
  else if (a === '--output-dir') opts.outputDir = argv[++i];
  else {
    const [name, file] = a.split('=');
    opts.inputs[name] = file;
  }
}
const ort = require(opts.ort);
let version = '';
try {
  version = require(path.join(opts.ort, 'package.json')).version;
} catch (e) {}

const {readNpy, writeNpy} =
    require(path.join(__dirname, '..', '..', 'scripts', 'npy.js'))(ort);

(async () => {
  const session = await ort.InferenceSession.create(opts.model, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const [name, file] of Object.entries(opts.inputs))
    feeds[name] = readNpy(file);
  for (let i = 0; i < opts.warmup; ++i) await session.run(feeds);
  const times = [];
  let results;
  for (let i = 0; i < opts.repeat; ++i) {
    const t0 = process.hrtime.bigint();
    results = await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  if (opts.outputDir) {
    fs.mkdirSync(opts.outputDir, {recursive: true});
    for (const [name, tensor] of Object.entries(results))
      writeNpy(path.join(opts.outputDir, name + '.npy'), tensor);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: times[times.length >> 1],
                              min_ms: times[0], runs: times.length,
                              version}));
})().catch(e => { console.error(String(e)); process.exit(1); });
