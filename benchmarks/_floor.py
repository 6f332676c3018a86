"""A floor under any runtime's time for a network: its matrix products alone.

The products of a fitted :class:`skattn.modules.SequenceNetwork` on one
batch (the linear layers, the convolutions as im2col products, the
recurrent cells step by step, the self-attention products) are recorded
with forward hooks and replayed as NumPy float32 ``matmul`` calls on
preallocated arrays, on one BLAS thread. Element-wise work (activations,
normalisation, softmax, masking) and the small products of attention
pooling are left out, so no runtime can run the network in less time on
the same core: the floor says how far any runtime could go.

Recurrent layers are different: their steps run one after the other, and
NumPy can replay them only one call per step, paying Python's call cost at
each. For them, :func:`recurrent_layers` records every LSTM or GRU call of
one forward and :func:`recurrent_replay` runs the same calls, and nothing
else, as ONNX ``LSTM``/``GRU`` nodes in ONNX Runtime: the part of an exported
graph that no change to the rest of the graph can remove.
"""

import numpy as np
import torch
from torch import nn

from skattn.modules import TransformerEncoderLayer


def products(network, values, mask):
    """``[(batch, m, k, n), ...]``: the matrix products of one forward."""
    out = []

    def linear(module, args, result):
        x = args[0]
        out.append(
            (1, x.numel() // x.shape[-1], module.in_features, module.out_features)
        )

    def conv(module, args, result):
        b, c_in, _ = args[0].shape
        _, c_out, t_out = result.shape
        k = module.kernel_size[0]
        out.append((1, b * t_out, c_in * k // module.groups, c_out))

    def recurrent(module, args, result):
        x = args[0]
        b, t = (x.shape[0], x.shape[1]) if module.batch_first else x.shape[1::-1]
        h, gates = module.hidden_size, 4 if isinstance(module, nn.LSTM) else 3
        directions = 2 if module.bidirectional else 1
        for _ in range(directions * module.num_layers):
            out.append((1, b * t, x.shape[-1], gates * h))  # input projection
            out.extend([(1, b, h, gates * h)] * t)  # one step after the other

    def attention(module, args, result):
        x = args[0]
        b, t, d = x.shape
        heads = module.num_heads
        out.append((b * heads, t, d // heads, t))  # scores
        out.append((b * heads, t, t, d // heads))  # weighted values

    hooks = []
    for module in network.modules():
        if isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear))
        elif isinstance(module, nn.Conv1d):
            hooks.append(module.register_forward_hook(conv))
        elif isinstance(module, (nn.LSTM, nn.GRU)):
            hooks.append(module.register_forward_hook(recurrent))
        elif isinstance(module, TransformerEncoderLayer):
            hooks.append(module.register_forward_hook(attention))
    _run_hooked(network, values, mask, hooks)
    return out


def _run_hooked(network, values, mask, hooks):
    """One forward of ``network`` with the forward ``hooks`` registered,
    which are removed afterwards."""
    try:
        with torch.inference_mode():
            network(values, mask)
    finally:
        for hook in hooks:
            hook.remove()


def replay(shapes):
    """A function that runs the products ``shapes`` with NumPy, float32."""
    rng = np.random.default_rng(0)
    calls = []
    for batch, m, k, n in shapes:
        lead = (batch,) if batch > 1 else ()
        a = rng.standard_normal((*lead, m, k), dtype=np.float32)
        b = rng.standard_normal((*lead, k, n), dtype=np.float32)
        calls.append((a, b, np.empty((*lead, m, n), dtype=np.float32)))

    def run():
        for a, b, c in calls:
            np.matmul(a, b, out=c)

    return run


def flops(shapes):
    return sum(2 * batch * m * k * n for batch, m, k, n in shapes)


def recurrent_layers(network, values, mask):
    """``[(op, batch, steps, input size, hidden size), ...]``: every LSTM
    or GRU call of one forward (op ``"LSTM"`` or ``"GRU"``)."""
    out = []

    def record(module, args, result):
        x = args[0]
        b, t = (x.shape[0], x.shape[1]) if module.batch_first else x.shape[1::-1]
        op = "LSTM" if isinstance(module, nn.LSTM) else "GRU"
        directions = 2 if module.bidirectional else 1
        for _ in range(directions * module.num_layers):
            out.append((op, b, t, x.shape[-1], module.hidden_size))

    hooks = [
        module.register_forward_hook(record)
        for module in network.modules()
        if isinstance(module, (nn.LSTM, nn.GRU))
    ]
    _run_hooked(network, values, mask, hooks)
    return out


def recurrent_replay(layers):
    """A function that runs the recurrent calls ``layers`` as ONNX nodes in
    ONNX Runtime (one thread, sequential), float32, random weights."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inputs, outputs, weights, feeds = [], [], [], [], {}
    for i, (op, b, t, c, h) in enumerate(layers):
        gates = 4 if op == "LSTM" else 3
        for name, shape in (("W", (1, gates * h, c)), ("R", (1, gates * h, h))):
            array = 0.1 * rng.standard_normal(shape, dtype=np.float32)
            weights.append(numpy_helper.from_array(array, f"{name}{i}"))
        # the input in the time-major layout the nodes read
        inputs.append(
            helper.make_tensor_value_info(f"x{i}", TensorProto.FLOAT, (t, b, c))
        )
        feeds[f"x{i}"] = rng.standard_normal((t, b, c), dtype=np.float32)
        extra = {"linear_before_reset": 1} if op == "GRU" else {}
        nodes.append(
            helper.make_node(
                op, [f"x{i}", f"W{i}", f"R{i}"], [f"y{i}"], hidden_size=h, **extra
            )
        )
        outputs.append(
            helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, (t, 1, b, h))
        )
    graph = helper.make_graph(nodes, "recurrent", inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )

    def run():
        session.run(None, feeds)

    return run
