"""tfod-doctor: check, explain, fix and convert data for the TensorFlow Object Detection API."""

from tfod_doctor._version import __version__
# ``convert`` and ``export`` are functions here; the subpackage tfod_doctor.convert is imported
# (by api) before these names are bound, so the function wins the attribute.
from tfod_doctor.api import convert, export, scan
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.report.model import Report

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "convert", "export",
           "scan"]
