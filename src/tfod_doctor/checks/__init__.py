"""The rules at work: record checks and dataset aggregators, registered on import.

Every module in this package that defines checks is imported here so that registering is a side
effect of importing ``tfod_doctor.checks``.
"""

import importlib
import pkgutil

_SKIP = {"base", "context"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _SKIP and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
