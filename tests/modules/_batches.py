"""Padded batches of random states shared by the module tests."""

import torch


def random_batch(b=4, t=7, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    states = torch.randn(b, t, d, generator=g, dtype=torch.float64)
    lengths = torch.tensor([7, 5, 1, 3])[:b]
    mask = torch.arange(t) < lengths[:, None]
    return states, mask
