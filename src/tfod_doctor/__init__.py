"""tfod-doctor: check, explain, fix and convert data for the TensorFlow Object Detection API."""

from tfod_doctor._version import __version__
from tfod_doctor.api import check, convert, export, fix, scan
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.report.model import Report

__all__ = ["Finding", "Location", "Report", "Severity", "__version__", "check", "convert",
           "export", "fix", "scan"]
