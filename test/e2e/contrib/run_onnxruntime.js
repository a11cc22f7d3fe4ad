// Runs every case written by make_contrib_cases.py through onnxruntime (the
// npm package onnxruntime-node, CPU execution provider) and writes each
// graph output to cases/<name>/expected/<output>.npy.
//
// Usage: node run_onnxruntime.js [CASES_DIR] [--ort PATH_TO_onnxruntime-node]
// The package is found through Node's module resolution, or at --ort (for
// example /tmp/node_modules/onnxruntime-node after
// `cd /tmp && npm install --ignore-scripts onnxruntime-node`).
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
let ortPath = 'onnxruntime-node';
const positional = [];
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--ort') ortPath = path.resolve(args[++i]);
  else positional.push(args[i]);
}
const casesDir = positional[0] || path.join(__dirname, 'cases');
const ort = require(ortPath);

// NumPy .npy (format 1.0, little-endian, C order) <-> onnxruntime tensors.
const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f2': ['float16', Uint16Array],
  '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
  '|b1': ['bool', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY' || buf[6] !== 1)
    throw new Error(file + ': not a version 1 .npy file');
  const headerLength = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header))
    throw new Error(file + ': Fortran order');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1]
      .split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (!(descr in NPY_TYPES)) throw new Error(file + ': dtype ' + descr);
  const [type, Arr] = NPY_TYPES[descr];
  const bytes = buf.subarray(10 + headerLength);
  const copy = new Uint8Array(bytes).buffer; // aligned
  return new ort.Tensor(type, new Arr(copy), shape);
}

function writeNpy(file, tensor) {
  const descr = Object.keys(NPY_TYPES).find(k => NPY_TYPES[k][0] === tensor.type);
  if (!descr) throw new Error('cannot write a ' + tensor.type + ' tensor');
  const dims = tensor.dims.join(', ') + (tensor.dims.length === 1 ? ',' : '');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - unpadded % 64) % 64) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset,
                           tensor.data.byteLength);
  fs.writeFileSync(file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
}

async function runCase(dir) {
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'case.json'), 'utf8'));
  const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'),
                                                    {executionProviders: ['cpu']});
  const feeds = {};
  for (const name of meta.inputs)
    feeds[name] = readNpy(path.join(dir, 'inputs', name + '.npy'));
  const results = await session.run(feeds);
  const out = path.join(dir, 'expected');
  fs.rmSync(out, {recursive: true, force: true});
  fs.mkdirSync(out);
  for (const name of meta.outputs)
    writeNpy(path.join(out, name + '.npy'), results[name]);
}

(async () => {
  const names = fs.readdirSync(casesDir).filter(
      n => fs.existsSync(path.join(casesDir, n, 'case.json'))).sort();
  let failed = 0;
  for (const name of names) {
    try {
      await runCase(path.join(casesDir, name));
      console.log('ok: ' + name);
    } catch (e) {
      console.log('FAILED: ' + name + ': ' + (e.message || e));
      ++failed;
    }
  }
  console.log(`onnxruntime ${require(ortPath + '/package.json').version}: ` +
              `${names.length - failed} cases written, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})();
