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

const {ortPath, positional} = require(
    path.join(__dirname, '..', '..', '..', 'scripts', 'ort_args.js'))(process.argv.slice(2));
const casesDir = positional[0] || path.join(__dirname, 'cases');
const ort = require(ortPath);

const {readNpy, writeNpy} =
    require(path.join(__dirname, '..', '..', '..', 'scripts', 'npy.js'))(ort);

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
