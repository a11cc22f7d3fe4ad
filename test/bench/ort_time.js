// Times one ONNX model on onnxruntime's CPU provider (npm's
// onnxruntime-node): the median and minimum of REPEAT runs after WARMUP
// runs, with the inputs given as .npy files. Prints one JSON line.
//
// Usage: node ort_time.js --ort PATH --model M.onnx --threads N
//            --repeat R NAME=FILE.npy...
'use strict';
const fs = require('fs');
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

// .npy version 1, little-endian, C order: the dtypes the benchmarks use.
const TYPES = {'<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array]};
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const headerLen = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLen);
  const descr = /'descr': '([^']+)'/.exec(header)[1];
  const shape = /'shape': \(([^)]*)\)/.exec(header)[1]
                    .split(',').filter(s => s.trim()).map(Number);
  const [type, Array] = TYPES[descr];
  const start = 10 + headerLen;
  const data = new Array(buf.buffer.slice(buf.byteOffset + start,
                                          buf.byteOffset + buf.length));
  return new ort.Tensor(type, data, shape);
}

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
