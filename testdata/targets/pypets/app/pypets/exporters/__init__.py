"""Exporters, one module per format, imported only when that format is asked for."""

import importlib
from types import ModuleType


def load(fmt: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{fmt}_export")
