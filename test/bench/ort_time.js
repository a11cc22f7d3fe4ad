// Times one ONNX model on onnxruntime's CPU provider (npm's
// onnxruntime-node): the median and minimum of REPEAT runs after WARMUP
// runs, with the inputs given as .npy files. Prints one JSON line.
//
// Usage: node ort_time.js --ort PATH --model M.onnx --threads N
//            --repeat R NAME=FILE.npy...
'use strict';
const path = require('path');

const opts = {ort: 'onnxruntime-node', threads: 1, repeat: 50, inputs: {}};
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; ++i) {
  const a = argv[i];
  if (a === '--ort') opts.ort = path.resolve(argv[++i]);
  else if (a === '--model') opts.model = argv[++i];
  else if (a === '--threads') opts.threads = Number(argv[++i]);
  else if (a === '--repeat') opts.repeat = Number(argv[++i]);
  else {
    const [name, file] = a.split('=');
    opts.inputs[name] = file;
  }
}
const ort = require(opts.ort);

const {readNpy} =
    require(path.join(__dirname, '..', '..', 'scripts', 'npy.js'))(ort);

(async () => {
  const session = await ort.InferenceSession.create(opts.model, {
    intraOpNumThreads: opts.threads, interOpNumThreads: 1,
    graphOptimizationLevel: 'all'});
  const feeds = {};
  for (const [name, file] of Object.entries(opts.inputs))
    feeds[name] = readNpy(file);
  for (let i = 0; i < 5; ++i) await session.run(feeds);
  const times = [];
  for (let i = 0; i < opts.repeat; ++i) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(JSON.stringify({median_ms: times[times.length >> 1],
                              min_ms: times[0]}));
})().catch(e => { console.error(String(e)); process.exit(1); });
