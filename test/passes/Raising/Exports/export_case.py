"""How every make_*_exports.py script writes one case: the module exported
by torch.onnx (opset 17) to <out>/<name>.onnx, and beside it <name>.npz with
the inputs (under their graph input names) and the module's own outputs, so
that the e2e checks compare against PyTorch without needing PyTorch."""
import os

import numpy as np
import torch


def save_case(out_dir, name, model, inputs, outputs=("y",)):
    """Runs `model` on `inputs` (an ordered dict: graph input name -> tensor)
    and writes the case; `outputs` names the module's results. Returns the
    results as a tuple of tensors."""
    with torch.no_grad():
        ys = model(*inputs.values())
        if not isinstance(ys, tuple):
            ys = (ys,)
        torch.onnx.export(model, tuple(inputs.values()),
                          os.path.join(out_dir, name + ".onnx"),
                          opset_version=17, input_names=list(inputs),
                          output_names=list(outputs))
    np.savez(os.path.join(out_dir, name + ".npz"),
             **{k: v.numpy() for k, v in inputs.items()},
             **{k: y.numpy() for k, y in zip(outputs, ys)})
    print("wrote", name)
    return ys
