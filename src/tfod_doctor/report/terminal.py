"""``--format text``: what a person reads in a terminal. Summary first, data loss leading."""

from __future__ import annotations

import io
from collections import defaultdict

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from tfod_doctor import catalogue
from tfod_doctor.findings import SUMMARY_ORDER, Finding, Severity
from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import Report

_FIRST = 3
STYLES = {
    Severity.DATA_LOSS: "bold magenta",
    Severity.ERROR: "bold red",
    Severity.WARNING: "yellow",
    Severity.INFO: "cyan",
}


def human_bytes(n: float) -> str:
    """``1536`` -> ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def summary_line(report: Report) -> Text:
    """``2 data-loss · 1 error · 0 warning · 0 info``, coloured by severity."""
    text = Text()
    for i, severity in enumerate(SUMMARY_ORDER):
        if i:
            text.append(" · ", style="dim")
        count = report.severity_counts.get(severity, 0)
        text.append(f"{count} {severity.label}", style=STYLES[severity] if count else "dim")
    return text


def _header(report: Report, options: RenderOptions) -> Text:
    totals = report.stats.get("totals", {})
    text = Text(f"tfod-doctor {options.command}", style="bold")
    if totals:
        text.append(
            f" · {totals.get('files', 0)} file(s) · {totals.get('records', 0):,} records · "
            f"{human_bytes(totals.get('bytes', 0))}"
        )
        if report.stats.get("images"):
            text.append(f" · images: {report.stats['images']}", style="dim")
    return text


def source_excerpt(finding: Finding, indent: int = 12) -> list[Text]:
    """The quoted source line of a line:column finding, with a caret under the column."""
    source = finding.evidence.get("source_line")
    line_number = finding.location.line
    if source is None or line_number is None:
        return []
    gutter = f"{line_number} | "
    quoted = Text(" " * indent)
    quoted.append(gutter, style="dim")
    quoted.append(source.expandtabs(1))
    excerpt = [quoted]
    if finding.location.column:
        caret = Text(" " * (indent + len(gutter) + finding.location.column - 1))
        caret.append("^", style=STYLES[finding.severity])
        excerpt.append(caret)
    return excerpt


def _rule_block(rule_id: str, findings: list[Finding], count: int, verbose: bool) -> Group:
    rule = catalogue.get(rule_id)
    severity = findings[0].severity if findings else rule.severity
    title = Text()
    title.append(f"{severity.label.upper():>9} ", style=STYLES[severity])
    title.append(f"{rule.id} {rule.name}", style="bold")
    title.append(f" · {count} finding{'s' if count != 1 else ''}", style="dim")
    lines: list[Text] = [title]
    shown = findings if verbose else findings[:_FIRST]
    for finding in shown:
        line = Text("          ")
        line.append(str(finding.location), style="underline")
        line.append(f"  {finding.message}")
        lines.append(line)
        lines.extend(source_excerpt(finding))
    if count > len(shown):
        lines.append(Text(f"          … and {count - len(shown)} more (--verbose shows the kept "
                          "ones, --format json lists them)", style="dim"))
    hint = findings[0].hint if findings else rule.fix
    if hint:
        lines.append(Text(f"          fix: {hint}", style="green"))
    return Group(*lines)


def _findings_blocks(report: Report, verbose: bool) -> list[Group]:
    by_rule: dict[str, list[Finding]] = defaultdict(list)
    for finding in report.findings:
        by_rule[finding.rule].append(finding)
    order = {severity: i for i, severity in enumerate(SUMMARY_ORDER)}

    def rank(rule_id: str) -> tuple[int, str]:
        found = by_rule.get(rule_id)
        severity = found[0].severity if found else catalogue.get(rule_id).severity
        return order[severity], rule_id

    return [
        _rule_block(rule_id, by_rule.get(rule_id, []), report.rule_counts[rule_id], verbose)
        for rule_id in sorted(report.rule_counts, key=rank)
    ]


def _files_table(report: Report) -> Table | None:
    files = report.stats.get("files") or []
    if not files:
        return None
    table = Table(title="Files", title_justify="left", show_edge=False)
    for column in ("file", "kind", "size", "records", "damage"):
        table.add_column(column, justify="right" if column in ("size", "records") else "left")
    for entry in files:
        damage = ", ".join(f"{d['kind']} @ {d['offset']}" for d in entry["damaged_ranges"][:3])
        if len(entry["damaged_ranges"]) > 3:
            damage += f", +{len(entry['damaged_ranges']) - 3}"
        table.add_row(entry["file"], entry["kind"], human_bytes(entry["bytes"]),
                      f"{entry['records']:,}", damage or "-")
    return table


def _schema_table(report: Report) -> Table | None:
    schema = report.stats.get("schema") or {}
    if not schema:
        return None
    table = Table(title="Schema present", title_justify="left", show_edge=False)
    for column in ("key", "kinds", "records", "length min/median/max"):
        table.add_column(column, justify="right" if column == "records" else "left")
    for key, info in schema.items():
        kinds = ", ".join(f"{k} ({n:,})" if len(info["kinds"]) > 1 else k
                          for k, n in info["kinds"].items())
        length = info["length"]
        median = f"{length['median']:g}"
        table.add_row(key, kinds, f"{info['records']:,}",
                      f"{length['min']} / {median} / {length['max']}")
    return table


def render_text(report: Report, options: RenderOptions) -> str:
    """The terminal report as text (with ANSI colours when ``options.color``)."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color,
                      width=options.width or 110, highlight=False, soft_wrap=False)
    console.print(_header(report, options))
    console.print(summary_line(report))
    blocks = _findings_blocks(report, options.verbose)
    if blocks:
        console.print()
        for block in blocks:
            console.print(block)
    else:
        console.print(Text("No findings.", style="green"))
    if options.command == "scan":
        for table in (_files_table(report), _schema_table(report)):
            if table is not None:
                console.print()
                console.print(table)
    return buffer.getvalue()


register("text", render_text)
