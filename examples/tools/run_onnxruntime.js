// onnxruntime's logits for the example models, kept as references so that
// the tests need no Node.js.
//
// For each MODEL.onnx given, runs it through onnxruntime (npm's
// onnxruntime-node, CPU execution provider) on tokens.npy from the model's
// folder and writes the `logits` output to logits_ort.npy there.
//
// Usage: node run_onnxruntime.js [--ort PATH_TO_onnxruntime-node] MODEL.onnx...
// The package is found through Node's module resolution, or at --ort, e.g.
//   cd /tmp && npm install --ignore-scripts onnxruntime-node
//   node examples/tools/run_onnxruntime.js --ort /tmp/node_modules/onnxruntime-node \
//       examples/mixtral/mixtral.onnx examples/deepseek/deepseek.onnx
// (--ignore-scripts is required: the postinstall step downloads GPU
// binaries from a host that may be unreachable; the CPU provider is in the
// package itself.)
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
let ortPath = 'onnxruntime-node';
const models = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--ort') ortPath = path.resolve(args[++i]);
  else models.push(args[i]);
}
if (!models.length) {
  console.error('usage: node run_onnxruntime.js [--ort PATH] MODEL.onnx...');
  process.exit(2);
}
const ort = require(ortPath);

// NumPy .npy files, format 1.0, little-endian, C order; only the two dtypes
// used here.
const NPY_TYPES = {'<i8': ['int64', BigInt64Array], '<f4': ['float32', Float32Array]};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY' || buf[6] !== 1)
    throw new Error(file + ': not a version 1 .npy file');
  const headerLength = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(file + ': Fortran order');
  if (!(descr in NPY_TYPES)) throw new Error(file + ': dtype ' + descr);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
      .split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  const [type, Arr] = NPY_TYPES[descr];
  const copy = new Uint8Array(buf.subarray(10 + headerLength)).buffer; // aligned
  return new ort.Tensor(type, new Arr(copy), shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(NPY_TYPES).find(k => NPY_TYPES[k][0] === tensor.type);
  if (!descr) throw new Error('cannot write a ' + tensor.type + ' tensor');
  const dims = tensor.dims.join(', ') + (tensor.dims.length === 1 ? ',' : '');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  header += ' '.repeat((64 - (10 + header.length + 1) % 64) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

(async () => {
  for (const model of models) {
    const dir = path.dirname(model);
    const session = await ort.InferenceSession.create(model, {executionProviders: ['cpu']});
    const results = await session.run({tokens: readNpy(path.join(dir, 'tokens.npy'))});
    const out = path.join(dir, 'logits_ort.npy');
    writeNpy(out, results.logits);
    console.log(`${model}: logits ${results.logits.dims.join('x')} -> ${out}`);
  }
  console.log(`onnxruntime-node ${require(ortPath + '/package.json').version}`);
})().catch(e => {
  console.error(e.message || e);
  process.exit(1);
});
