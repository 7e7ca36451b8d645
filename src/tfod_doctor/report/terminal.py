"""``--format text``: what a person reads in a terminal. Summary first, data loss leading."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tfod_doctor import catalogue
from tfod_doctor.findings import SUMMARY_ORDER, Finding, Severity
from tfod_doctor.report import RenderOptions, register
from tfod_doctor.report.model import Report

#: Findings shown per rule without --verbose.
_FIRST = 3
#: Columns when the output is not a terminal (a file, a pipe, a CI log).
DEFAULT_WIDTH = 100
#: The overview table says what each rule means only on terminals at least this wide.
_OVERVIEW_SUMMARY_WIDTH = 90
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
    elif "linted" in report.stats:
        text.append(f" · {len(report.stats['linted'])} file(s) · no records read")
    return text


def source_excerpt(finding: Finding, indent: int = 0) -> list[Text]:
    """The quoted source line of a line:column finding, with a caret under the column."""
    source = finding.evidence.get("source_line")
    line_number = finding.location.line
    if source is None or line_number is None:
        return []
    gutter = f"{line_number} | "
    text, column = _around(source.expandtabs(1), finding.location.column)
    quoted = Text(" " * indent, no_wrap=True, overflow="ellipsis")
    quoted.append(gutter, style="dim")
    quoted.append(text)
    excerpt = [quoted]
    if column:
        caret = Text(" " * (indent + len(gutter) + column - 1))
        caret.append("^", style=STYLES[finding.severity])
        excerpt.append(caret)
    return excerpt


#: How many characters before the column a long source line keeps.
_BEFORE_COLUMN = 40


def _around(text: str, column: int | None) -> tuple[str, int | None]:
    """A long line cut from the left (``…``) so that the column stays on screen, and the
    column in what is left."""
    if not column or column <= 2 * _BEFORE_COLUMN:
        return text, column
    start = column - 1 - _BEFORE_COLUMN
    return "…" + text[start:], column - start + 1


def rule_order(rule_id: str, severity: Severity) -> tuple[int, str]:
    """Where a rule goes in a report: by severity as the summary orders them, then by id."""
    return SUMMARY_ORDER.index(severity), rule_id


def _ordered_rules(report: Report) -> list[str]:
    return sorted(report.rule_counts, key=lambda r: rule_order(r, report.rule_severity(r)))


def _overview_table(report: Report, rules: list[str], width: int) -> Table:
    """One row per rule that fired: id, name, severity, count, and what it means if it fits."""
    table = Table(show_edge=False, box=None, padding=(0, 1), header_style="bold dim")
    table.add_column("rule", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("findings", justify="right", no_wrap=True)
    roomy = width >= _OVERVIEW_SUMMARY_WIDTH
    if roomy:
        table.add_column("what it means", overflow="fold", ratio=1)
    for rule_id in rules:
        rule = catalogue.get(rule_id)
        severity = report.rule_severity(rule_id)
        cells = [rule_id, rule.name, Text(severity.label, style=STYLES[severity]),
                 f"{report.rule_counts[rule_id]:,}"]
        table.add_row(*cells, *([rule.summary] if roomy else []))
    return table


def _rule_title(rule_id: str, severity: Severity, count: int) -> Text:
    rule = catalogue.get(rule_id)
    title = Text()
    title.append(f" {severity.label.upper()} ", style=f"reverse {STYLES[severity]}")
    title.append(f" {rule.id} {rule.name}", style="bold")
    title.append(f" · {count:,} finding{'s' if count != 1 else ''}", style="dim")
    return title


def finding_renderable(finding: Finding) -> RenderableType:
    """One finding under its rule: where (own line), then what, then the quoted source line
    with a caret for line:column findings."""
    where = Text(overflow="fold")
    where.append(str(finding.location), style="underline")  # a span: padding stays plain
    return Group(where, Text(finding.message), *source_excerpt(finding))


def _more_line(count: int, shown: int, kept: int, verbose: bool) -> Text | None:
    if count <= shown:
        return None
    if not verbose and kept > shown:
        tail = "--verbose lists them"
    else:
        tail = "--format json lists the kept ones" if kept < count else "--format json lists them"
    return Text(f"… and {count - shown:,} more ({tail})", style="dim")


def _rule_block(rule_id: str, severity: Severity, findings: list[Finding], count: int,
                verbose: bool) -> Group:
    """A rule that fired: its title, the first few locations and messages, and the fix."""
    rule = catalogue.get(rule_id)
    body = Table.grid(padding=(0, 1))
    body.add_column(width=1, no_wrap=True)
    body.add_column(ratio=1, overflow="fold")
    shown = findings if verbose else findings[:_FIRST]
    for finding in shown:
        body.add_row(Text("•", style=STYLES[severity]), finding_renderable(finding))
    more = _more_line(count, len(shown), len(findings), verbose)
    if more is not None:
        body.add_row("", more)
    hint = findings[0].hint if findings and findings[0].hint else rule.fix
    if hint:
        body.add_row("", Text.assemble(("fix: ", "bold green"), (hint, "green")))
    return Group(_rule_title(rule_id, severity, count), Padding(body, (0, 0, 0, 2)))


def _findings_blocks(report: Report, verbose: bool) -> list[Group]:
    return [
        _rule_block(rule_id, report.rule_severity(rule_id), report.by_rule(rule_id),
                    report.rule_counts[rule_id], verbose)
        for rule_id in _ordered_rules(report)
    ]


def _table(title: str) -> Table:
    """A plain table: bold title, dim header, no box lines."""
    return Table(title=title, title_justify="left", title_style="bold", show_edge=False,
                 box=box.SIMPLE_HEAD, header_style="dim", pad_edge=False)


def _files_table(report: Report, width: int) -> Table | None:
    files = report.stats.get("files") or []
    if not files:
        return None
    table = _table("Files")
    longest = max(len(entry["file"]) for entry in files)
    table.add_column("file", overflow="fold", min_width=min(longest, width // 2))
    table.add_column("kind", overflow="fold")
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("records", justify="right", no_wrap=True)
    table.add_column("damage", overflow="fold")
    for entry in files:
        damage = "\n".join(f"{d['kind']} @ {d['offset']}" for d in entry["damaged_ranges"][:3])
        if len(entry["damaged_ranges"]) > 3:
            damage += f"\n+{len(entry['damaged_ranges']) - 3} more"
        table.add_row(entry["file"], entry["kind"], human_bytes(entry["bytes"]),
                      f"{entry['records']:,}", damage or "-")
    return table


def _schema_table(report: Report, width: int) -> Table | None:
    schema = report.stats.get("schema") or {}
    if not schema:
        return None
    table = _table("Schema present")
    table.add_column("key", overflow="fold", min_width=min(max(map(len, schema)), width // 2))
    table.add_column("kinds", overflow="fold")
    table.add_column("records", justify="right", no_wrap=True)
    table.add_column("length min / median / max", overflow="fold")
    for key, info in schema.items():
        kinds = ", ".join(f"{k} ({n:,})" if len(info["kinds"]) > 1 else k
                          for k, n in info["kinds"].items())
        length = info["length"]
        median = f"{length['median']:g}"
        table.add_row(key, kinds, f"{info['records']:,}",
                      f"{length['min']} / {median} / {length['max']}")
    return table


#: The class table is shown without --verbose up to this many classes.
_CLASS_ROWS = 20


def _class_label(row: dict) -> str:
    class_id, name = row.get("id"), row.get("name")
    if class_id is None:
        return str(name) if name is not None else "?"
    return f"{class_id} {name}" if name is not None else str(class_id)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def _class_table(report: Report, verbose: bool) -> RenderableType | None:
    """Per class and split: boxes, images, median box side, tiny and border shares (the
    splits side by side); past :data:`_CLASS_ROWS` classes only with ``--verbose``."""
    splits = (report.stats.get("class_stats") or {}).get("splits") or {}
    rows: dict[tuple, dict[str, dict]] = {}
    for split, entries in splits.items():
        for entry in entries:
            rows.setdefault((entry.get("id") is None, entry.get("id") or 0,
                             _class_label(entry)), {})[split] = entry
    if not rows:
        return None
    if len(rows) > _CLASS_ROWS and not verbose:
        return Text(f"{len(rows)} classes: --verbose shows boxes, images and box sizes per "
                    "class", style="dim")
    table = _table("Classes" + (f" ({' | '.join(splits)})" if len(splits) > 1 else ""))
    table.add_column("class", overflow="fold")
    for split in splits:
        prefix = f"{split}\n" if len(splits) > 1 else ""
        for header in ("boxes", "images", "median px", "tiny", "border"):
            table.add_column(prefix + header, justify="right", no_wrap=True)
    for key in sorted(rows):
        cells = [key[2]]
        for split in splits:
            entry = rows[key].get(split)
            if entry is None:
                cells += ["-"] * 5
                continue
            median = entry.get("median_side_px")
            cells += [f"{entry['boxes']:,}", f"{entry['images']:,}",
                      "-" if median is None else f"{median:g}",
                      _share(entry["tiny"], entry["boxes"]),
                      _share(entry["border"], entry["boxes"])]
        table.add_row(*cells)
    return table


def render_text(report: Report, options: RenderOptions) -> str:
    """The terminal report as text (with ANSI colours when ``options.color``)."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=options.color, no_color=not options.color,
                      width=options.width or DEFAULT_WIDTH, highlight=False, soft_wrap=False)
    console.print(_header(report, options))
    console.print(summary_line(report))
    rules = _ordered_rules(report)
    if len(rules) > 1:
        console.print()
        console.print(_overview_table(report, rules, console.width))
    blocks = _findings_blocks(report, options.verbose)
    if blocks:
        for block in blocks:
            console.print()
            console.print(block)
    else:
        console.print(Text("No findings.", style="green"))
    classes = _class_table(report, options.verbose)
    if classes is not None:
        console.print()
        console.print(classes)
    if options.command == "scan":
        for table in (_files_table(report, console.width), _schema_table(report, console.width)):
            if table is not None:
                console.print()
                console.print(table)
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n"))


register("text", render_text)
