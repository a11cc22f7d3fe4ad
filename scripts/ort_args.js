// The command line of the Node scripts that run models through npm's
// onnxruntime-node: `--ort PATH` (the package; by default Node's module
// resolution finds it) anywhere among the positional arguments.
//
//   const {ortPath, positional} = require('<repo>/scripts/ort_args.js')(argv);
'use strict';
const path = require('path');

module.exports = function ortArgs(argv) {
  let ortPath = 'onnxruntime-node';
  const positional = [];
  for (let i = 0; i < argv.length; ++i) {
    if (argv[i] === '--ort') ortPath = path.resolve(argv[++i]);
    else positional.push(argv[i]);
  }
  return {ortPath, positional};
};
