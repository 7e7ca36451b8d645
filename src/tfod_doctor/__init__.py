"""tfod-doctor: check, explain, fix and convert data for the TensorFlow Object Detection API."""

import sys
import types

from tfod_doctor import api
from tfod_doctor._version import __version__
from tfod_doctor.api import check, export, scan
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.report.model import Report


class _CallableModule(types.ModuleType):
    """The ``tfod_doctor.convert`` package, callable as :func:`tfod_doctor.api.convert`.

    ``tfod_doctor.convert(...)`` converts a dataset, and ``tfod_doctor.convert`` stays the
    subpackage, so every form of ``import tfod_doctor.convert.coco`` keeps working.
    """

    def __call__(self, *args, **kwargs):
        return api.convert(*args, **kwargs)

    __call__.__doc__ = api.convert.__doc__


convert = sys.modules["tfod_doctor.convert"]
convert.__class__ = _CallableModule

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "check", "convert",
           "export", "scan"]
