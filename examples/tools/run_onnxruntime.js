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
const path = require('path');

const {ortPath, positional: models} = require(
    path.join(__dirname, '..', '..', 'scripts', 'ort_args.js'))(process.argv.slice(2));
if (!models.length) {
  console.error('usage: node run_onnxruntime.js [--ort PATH] MODEL.onnx...');
  process.exit(2);
}
const ort = require(ortPath);

const {readNpy, writeNpy} =
    require(path.join(__dirname, '..', '..', 'scripts', 'npy.js'))(ort);

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
