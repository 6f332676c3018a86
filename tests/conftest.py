import pytest

from ._data import make_sequences


@pytest.fixture(scope="session")
def ragged():
    return make_sequences()
