"""Test-wide settings for tests/ and the doctests in skattn/."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Outputs compared across fits depend on the thread count: pin it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
