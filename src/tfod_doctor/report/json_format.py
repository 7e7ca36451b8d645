"""``--format json``: the report of DESIGN.md, for machines."""

from __future__ import annotations

from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import Report


def render_json(report: Report, options: RenderOptions) -> str:
    """The JSON report, indented."""
    return report.to_json(indent=2) + "\n"


register("json", render_json)
