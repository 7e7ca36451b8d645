"""tfod-doctor: check, explain, fix and convert data for the TensorFlow Object Detection API.

The public names are imported on first use, so that commands which need little of the package
(``--help``, ``rules``, ``explain``) start without loading the checks.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tfod_doctor._version import __version__

if TYPE_CHECKING:
    from tfod_doctor.api import check, convert, export, fix, scan
    from tfod_doctor.findings import Finding, Location, Severity
    from tfod_doctor.report.model import Report

#: Each public name, and the module it comes from.
_PUBLIC = {
    "check": "tfod_doctor.api", "convert": "tfod_doctor.api", "export": "tfod_doctor.api",
    "fix": "tfod_doctor.api", "scan": "tfod_doctor.api", "Finding": "tfod_doctor.findings",
    "Location": "tfod_doctor.findings", "Severity": "tfod_doctor.findings",
    "Report": "tfod_doctor.report.model",
}

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "check", "convert",
           "export", "fix", "scan"]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tfod_doctor' has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(module), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
