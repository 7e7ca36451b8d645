"""``--format json``: the report of DESIGN.md, for machines."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import Report

SCHEMA_FILE = "report.schema.json"


@cache
def json_schema() -> dict[str, Any]:
    """The published JSON Schema of the report (``report/report.schema.json``)."""
    text = resources.files("tfod_doctor.report").joinpath(SCHEMA_FILE).read_text("utf-8")
    return json.loads(text)


def render_json(report: Report, options: RenderOptions) -> str:
    """The JSON report, indented."""
    return report.to_json(indent=2) + "\n"


register("json", render_json)
