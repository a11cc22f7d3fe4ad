// NumPy .npy files (format 1.0, little-endian, C order) <-> onnxruntime
// tensors, for the Node scripts that run models through npm's
// onnxruntime-node (test/e2e/contrib, examples/tools, test/bench).
//
//   const {readNpy, writeNpy} = require('<repo>/scripts/npy.js')(ort);
'use strict';
const fs = require('fs');

const NPY_TYPES = {
  '<f4': ['float32', Float32Array], '<f2': ['float16', Uint16Array],
  '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
  '|b1': ['bool', Uint8Array],
};

module.exports = function npyFor(ort) {
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
    const descr =
        Object.keys(NPY_TYPES).find(k => NPY_TYPES[k][0] === tensor.type);
    if (!descr) throw new Error('cannot write a ' + tensor.type + ' tensor');
    const dims = tensor.dims.join(', ') + (tensor.dims.length === 1 ? ',' : '');
    let header =
        `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
    const unpadded = 10 + header.length + 1;
    header += ' '.repeat((64 - unpadded % 64) % 64) + '\n';
    const prefix = Buffer.alloc(10);
    prefix.write('\x93NUMPY', 0, 'latin1');
    prefix[6] = 1;
    prefix[7] = 0;
    prefix.writeUInt16LE(header.length, 8);
    const data = Buffer.from(tensor.data.buffer, tensor.data.byteOffset,
                             tensor.data.byteLength);
    fs.writeFileSync(
        file, Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]));
  }

  return {readNpy, writeNpy};
};
