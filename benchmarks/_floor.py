"""A floor under any runtime's time for a network: its matrix products alone.

The products of a fitted :class:`skattn.modules.SequenceNetwork` on one
batch (the linear layers, the convolutions as im2col products, the
recurrent cells step by step, the self-attention products) are recorded
with forward hooks and replayed as NumPy float32 ``matmul`` calls on
preallocated arrays, on one BLAS thread. Element-wise work (activations,
normalisation, softmax, masking) and the small products of attention
pooling are left out, so no runtime can run the network in less time on
the same core: the floor says how far any runtime could go.
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
    try:
        with torch.inference_mode():
            network(values, mask)
    finally:
        for hook in hooks:
            hook.remove()
    return out


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
