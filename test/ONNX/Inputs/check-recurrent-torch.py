# Bidirectional LSTM and GRU (linear_before_reset = 1, PyTorch's form)
# against torch.nn.LSTM / torch.nn.GRU: writes the model and its inputs
# (`make DIR`: torch's weights with the gates reordered to ONNX's, LSTM
# i, f, g, o -> i, o, f, c and GRU r, z, n -> z, r, h), then compares
# kiln-run's outputs with torch's (`check DIR`).
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

S, B, I, H = 5, 3, 4, 6
torch.manual_seed(0)
x = torch.randn(S, B, I)
lstm = torch.nn.LSTM(I, H, bidirectional=True)
gru = torch.nn.GRU(I, H, bidirectional=True)


def lstm_order(w):
    i, f, g, o = w.chunk(4, 0)
    return torch.cat([i, o, f, g], 0)


def gru_order(w):
    r, z, n = w.chunk(3, 0)
    return torch.cat([z, r, n], 0)


def onnx_weights(m, order):
    dirs = ["", "_reverse"]
    get = lambda name, d: order(getattr(m, name + "_l0" + d)).detach().numpy()
    w = np.stack([get("weight_ih", d) for d in dirs])
    r = np.stack([get("weight_hh", d) for d in dirs])
    b = np.stack([np.concatenate([get("bias_ih", d), get("bias_hh", d)])
                  for d in dirs])
    return w, r, b


def main():
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "make":
        inputs = dict(zip(["WL", "RL", "BL"], onnx_weights(lstm, lstm_order)))
        inputs.update(zip(["WG", "RG", "BG"], onnx_weights(gru, gru_order)))
        inputs["X"] = x.numpy()
        nodes = [
            helper.make_node("LSTM", ["X", "WL", "RL", "BL"], ["ly"],
                             hidden_size=H, direction="bidirectional"),
            helper.make_node("GRU", ["X", "WG", "RG", "BG"], ["gy"],
                             hidden_size=H, direction="bidirectional",
                             linear_before_reset=1)]
        graph = helper.make_graph(
            nodes, "g",
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
             for n, a in inputs.items()],
            [helper.make_tensor_value_info(n, TensorProto.FLOAT, [S, 2, B, H])
             for n in ("ly", "gy")])
        onnx.save(helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 14)]),
            f"{out}/model.onnx")
        for n, a in inputs.items():
            np.save(f"{out}/{n}.npy", a.astype(np.float32))
        return
    for name, m in (("ly", lstm), ("gy", gru)):
        # torch's [S, B, 2 * H] is ONNX's [S, 2, B, H] transposed.
        want = m(x)[0].detach().numpy().reshape(S, B, 2, H).transpose(0, 2, 1, 3)
        np.testing.assert_allclose(np.load(f"{out}/out/{name}.npy"), want,
                                   rtol=1e-5, atol=1e-5, err_msg=name)
    print("ok")


main()
