// Runs one ONNX model through onnxruntime (npm's onnxruntime-node, CPU
// execution provider) and writes every graph output to OUT_DIR/<name>.npy,
// the name made file-safe as kiln-run does. kiln-compare's reference.
//
// Usage: node ort_run.js --ort PATH_TO_onnxruntime-node MODEL.onnx OUT_DIR
//            NAME=FILE.npy...
'use strict';
const fs = require('fs');
const path = require('path');

// npy.js and ort_args.js are copied beside this script in the build; in
// the source tree they are in scripts/.
function shared(name) {
  const beside = path.join(__dirname, name);
  return fs.existsSync(beside) ? beside
                               : path.join(__dirname, '..', '..', 'scripts', name);
}
const {ortPath, positional} = require(shared('ort_args.js'))(process.argv.slice(2));
if (positional.length < 2) {
  console.error('usage: node ort_run.js [--ort PATH] MODEL.onnx OUT_DIR NAME=FILE...');
  process.exit(2);
}
const ort = require(ortPath);
const {readNpy, writeNpy} = require(shared('npy.js'))(ort);

function fileSafe(name) {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' || safe[0] === '.' ? '_' + safe : safe;
}

(async () => {
  const [model, outDir, ...inputs] = positional;
  const feeds = {};
  for (const spec of inputs) {
    const eq = spec.indexOf('=');
    feeds[spec.slice(0, eq)] = readNpy(spec.slice(eq + 1));
  }
  const session = await ort.InferenceSession.create(model, {executionProviders: ['cpu']});
  const results = await session.run(feeds);
  fs.mkdirSync(outDir, {recursive: true});
  // Names that become the same file get _2, _3... in output order, as
  // kiln-run's do (kiln-compare expects it).
  const used = new Set();
  for (const name of session.outputNames) {
    let file = fileSafe(name);
    for (let suffix = 2; used.has(file); ++suffix)
      file = `${fileSafe(name)}_${suffix}`;
    used.add(file);
    try {
      writeNpy(path.join(outDir, file + '.npy'), results[name]);
    } catch (e) {  // a type npy.js does not write: no reference for it
      console.error(`ort_run.js: skipped '${name}': ${e.message || e}`);
    }
  }
})().catch(e => {
  console.error('ort_run.js: ' + (e.message || e));
  process.exit(1);
});
