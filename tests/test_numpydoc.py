"""Every public class, function and method has a valid numpydoc docstring."""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip(
    "numpydoc.validate", reason="the docstring check needs numpydoc"
)

PUBLIC_MODULES = [
    "skattn",
    "skattn.data",
    "skattn.datasets",
    "skattn.exceptions",
    "skattn.inspection",
    "skattn.model_selection",
    "skattn.modules",
    "skattn.plotting",
]

# Error codes not checked anywhere, each with its reason (scikit-learn's own
# docstring test ignores the same ones).
IGNORED = {
    # Returns are named like scikit-learn's (``self : object``), not typed only.
    "RT02",
    # The summary may start on the line of the opening quotes.
    "GL01",
    # A blank line may end the docstring.
    "GL02",
    # The extended summary is optional: many summaries say all there is.
    "ES01",
    # See Also sections are not required on every class and function.
    "SA01",
}
# Error codes checked on classes and functions but not on methods.
IGNORED_ON_METHODS = {
    # Examples are on the classes and functions, not on every method.
    "EX01",
}
# Methods of the torch modules in skattn.modules are checked like any other
# (``encode``, ``output_mask``, ... are called directly and take tensors
# whose shapes the docstring must give), except that ``forward`` may go
# without a docstring: it is called as ``module(...)``, and the class
# docstring says what the module computes. A ``forward`` docstring that is
# written is checked.
UNDOCUMENTED_OK = {"forward"}


def _is_skattn(obj):
    module = getattr(obj, "__module__", None) or ""
    return module == "skattn" or module.startswith("skattn.")


def _public_objects():
    """Yield ``(import path, is_method)`` for the public API, each object once."""
    seen = set()
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            obj = getattr(module, name)
            # Constants (e.g. skattn.datasets.DATASETS) have no docstring of
            # their own to check.
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            path = f"{module_name}.{name}"
            yield path, False
            if not inspect.isclass(obj):
                continue
            for attr in sorted(dir(obj)):
                if attr.startswith("_"):
                    continue
                raw = inspect.getattr_static(obj, attr)
                if isinstance(raw, (staticmethod, classmethod)):
                    raw = raw.__func__
                # scikit-learn's ``available_if`` methods are descriptors
                # holding the function as ``fn``.
                raw = getattr(raw, "fn", raw)
                target = raw.fget if isinstance(raw, property) else raw
                if not callable(target) or not _is_skattn(target):
                    continue
                key = (path, attr) if isinstance(raw, property) else id(target)
                if key in seen:
                    continue
                seen.add(key)
                yield f"{path}.{attr}", True


def test_public_modules_list_their_names():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name} does not exist"


def test_docstrings_are_numpydoc():
    errors = []
    for path, is_method in _public_objects():
        result = numpydoc_validate.validate(path)
        for code, message in result["errors"]:
            if code in IGNORED or (is_method and code in IGNORED_ON_METHODS):
                continue
            if code == "GL08" and path.rsplit(".", 1)[-1] in UNDOCUMENTED_OK:
                continue
            errors.append(f"{path}: {code} {message}")
    assert not errors, "\n".join(["docstring errors:", *errors])
