"""Finding a plugin module by the name a request gives.

Names are case-insensitive and accept "-" for "_" ("Rot-13" is the module rot_13). The import
system lists a package directory once and answers later lookups from that listing: asking
for a module that does not exist touches no file.
"""

import importlib
import re
from types import ModuleType
from typing import Optional

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


def canonical(name: str) -> Optional[str]:
    """The module name a request's name stands for, None when it cannot be one."""
    name = name.strip().lower().replace("-", "_")
    return name if _NAME.fullmatch(name) else None


def load(package: str, name: str) -> Optional[ModuleType]:
    """The plugin module package.NAME, None when there is no such module."""
    mod = canonical(name)
    if mod is None:
        return None
    full = f"{package}.{mod}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as e:
        if e.name == full:
            return None
        raise
