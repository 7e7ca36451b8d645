"""HTML pieces; for now the notebook summary of a Report."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tfod_doctor.report.model import Report

_TOP = 10


def notebook_summary(report: Report) -> str:
    """A small HTML table for Jupyter: counts by severity and the first findings."""
    summary = " · ".join(f"<b>{n}</b> {escape(label)}" for label, n in report.summary.items()
                         if label != "omitted")
    rows = "".join(
        f"<tr><td>{escape(f.rule)}</td><td>{escape(f.severity.label)}</td>"
        f"<td>{escape(str(f.location))}</td><td>{escape(f.message)}</td></tr>"
        for f in report.findings[:_TOP]
    )
    more = len(report) - min(len(report.findings), _TOP)
    tail = f"<p>… and {more} more</p>" if more > 0 else ""
    return (
        f"<div><p>tfod-doctor: {summary}</p><table><thead><tr><th>rule</th><th>severity</th>"
        f"<th>where</th><th>what</th></tr></thead><tbody>{rows}</tbody></table>{tail}</div>"
    )
