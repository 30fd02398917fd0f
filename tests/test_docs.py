"""Every public name has a docstring, and the API reference lists every public module."""

import importlib
import inspect
from pathlib import Path

import pytest

import xpnn

MODULES = ["xpnn", "xpnn.network", "xpnn.activations", "xpnn.heads", "xpnn.initializers",
           "xpnn.optimizers", "xpnn.training", "xpnn.gradcheck", "xpnn.loops", "xpnn.datasets",
           "xpnn.preprocessing", "xpnn.backend", "xpnn.persistence", "xpnn.distributed",
           "xpnn.estimators", "xpnn.exceptions", "xpnn.mlp", "xpnn.lbfgs", "xpnn.lessons"]
GENERATED = [name for name in MODULES if name not in ("xpnn", "xpnn.backend", "xpnn.estimators",
                                                      "xpnn.exceptions", "xpnn.mlp")]


def _public(module):
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        obj = getattr(module, name)
        if inspect.ismodule(obj) or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        defined_here = getattr(obj, "__module__", "") == module.__name__
        if defined_here or (hasattr(module, "__all__") and obj.__module__.startswith("xpnn")):
            yield f"{module.__name__}.{name}", obj


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name):
    module = importlib.import_module(module_name)
    assert inspect.getdoc(module), module_name
    missing = [name for name, obj in _public(module) if not inspect.getdoc(obj)]
    assert missing == []


def test_the_api_reference_covers_every_public_module():
    api = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()
    for name in MODULES[1:]:
        if name != "xpnn.estimators":  # its classes are documented under xpnn
            assert name in api, name
    for name in xpnn.__all__:
        obj = getattr(xpnn, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert f"xpnn.{name}" in api, name


@pytest.mark.parametrize("module_name", GENERATED)
def test_the_api_reference_of_a_module_is_its___all__(module_name):
    """The reference documents ``:members:`` of each module, which autodoc reads from the
    module's ``__all__``: a public name is added in one place, the module."""
    import re

    module = importlib.import_module(module_name)
    assert isinstance(getattr(module, "__all__", None), list), f"{module_name} has no __all__"
    assert all(hasattr(module, name) for name in module.__all__)
    api = (Path(__file__).parents[1] / "docs" / "api.rst").read_text()
    assert re.search(rf"\.\. automodule:: {re.escape(module_name)}\n   :members:\n", api), module_name
