"""What the commands share: report options, writing the report, progress bars, exit codes."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tfod_doctor import report as reports
from tfod_doctor.catalogue import RuleFilter
from tfod_doctor.findings import Severity
from tfod_doctor.report.model import Report

if TYPE_CHECKING:  # the guard imports the records layer (numpy): rules and explain do not
    from tfod_doctor.checks.context import CheckContext
    from tfod_doctor.engine import Plan
    from tfod_doctor.guard import Protected


def split_selectors(values: tuple[str, ...]) -> list[str]:
    """``--select B,L --select R001`` -> ``["B", "L", "R001"]``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


class SeverityType(click.ParamType):
    """A click type for ``--fail-on``."""

    name = "severity"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, Severity):
            return value
        try:
            return Severity.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def report_options(func: Callable) -> Callable:
    """The options every command that prints a report takes."""
    decorators = [
        click.option("--format", "fmt", default="text", show_default=True,
                     type=click.Choice(reports.formats()),
                     help="How to write the report."),
        click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                     help="Write the report to this file instead of the terminal."),
        click.option("--fail-on", type=SeverityType(),
                     help="Exit with 1 when a finding is at or above this severity "
                          "(info, warning, data-loss, error)  [default: the project file's "
                          "fail-on, else data-loss]"),
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rules: ids, prefixes or families (B, L001, boxes). "
                          "Comma-separated, repeatable."),
        click.option("--ignore", multiple=True, metavar="RULES",
                     help="Leave out these rules (same forms as --select)."),
        click.option("--verbose", "-v", is_flag=True,
                     help="List every kept finding, not the first few per rule."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def project_options(func: Callable) -> Callable:
    """The project file and the baseline: ``--config-file``, ``--isolated``, ``--baseline``."""
    decorators = [
        click.option("--config-file", type=click.Path(dir_okay=False, path_type=Path),
                     metavar="TOML",
                     help="The project file to use (a tfod-doctor.toml, or a pyproject.toml "
                          "with [tool.tfod-doctor]) instead of the one found by walking up "
                          "from the pipeline.config's folder."),
        click.option("--isolated", is_flag=True,
                     help="Ignore every project file: only the command line counts."),
        click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
                     metavar="JSON",
                     help="Accepted findings: when the file exists, the findings it lists are "
                          "left out of the report and the exit code; when it does not, it is "
                          "written with every finding of this run."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def fail_level(fail_on: Severity | None, project_fail_on: Severity | None) -> Severity:
    """``--fail-on``, else the project file's ``fail-on``, else data loss."""
    return fail_on or project_fail_on or Severity.DATA_LOSS


def baseline_note(report: Report, written: int | None, baseline: Path | None) -> None:
    """Tell on stderr what the baseline did: written, or how many findings it left out."""
    if baseline is None:
        return
    if written is not None:
        click.echo(f"baseline written to {baseline}: {written} finding(s) accepted; later runs "
                   "with --baseline report only new ones", err=True)
        return
    left_out = report.stats.get("left_out", {}).get("baseline", 0)
    click.echo(f"baseline {baseline}: {left_out} accepted finding(s) left out", err=True)


def cap_workers(per_cpu: int = 1) -> Callable:
    """A click callback that caps ``--workers`` at ``per_cpu`` per CPU, saying so once."""

    def callback(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
        from tfod_doctor.engine.local import default_workers  # the CPUs this process may use

        limit = per_cpu * default_workers()
        if value is None or value <= limit:
            return value
        click.echo(f"note: --workers {value} is more than this machine can run at once "
                   f"({default_workers()} CPU(s)); using {limit}", err=True)
        return limit

    return callback


def engine_options(func: Callable) -> Callable:
    """Where the checking runs: ``--workers``, ``--runner`` and ``--beam-options``.

    The command receives ``workers`` (``None``: one per CPU), ``runner`` and ``beam_options``,
    to pass on to :func:`tfod_doctor.engine.execute`.
    """
    # Imported here: the commands without these options (rules, explain) start without the
    # engine and the checks.
    from tfod_doctor.engine.run import RUNNERS

    decorators = [
        click.option("--workers", "-j", type=click.IntRange(min=1), metavar="N",
                     callback=cap_workers(),
                     help="Worker processes (default and most: one per CPU). Large files are "
                          "cut into pieces so that even one file keeps every worker busy; 1 "
                          "checks in this process."),
        click.option("--runner", type=click.Choice(RUNNERS), default="local", show_default=True,
                     help="Where to run: on this machine, or as an Apache Beam pipeline "
                          "(pip install 'tfod-doctor[beam]')."),
        click.option("--beam-options", metavar="FLAGS",
                     help="Apache Beam pipeline flags for --runner beam, in one string: "
                          "\"--runner=DataflowRunner --project=P --region=R "
                          "--temp_location=gs://B/tmp\" (default: Beam's DirectRunner)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def use_color() -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def terminal_width() -> int | None:
    """The terminal's width in columns when stdout is one; ``None`` for files and pipes."""
    if not sys.stdout.isatty():
        return None
    return shutil.get_terminal_size().columns


def show_progress() -> bool:
    """A progress bar only on an interactive terminal, and not in CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


class ProgressHandle:
    """Advances a progress bar (call it with a count); :meth:`set_total` when it becomes known."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def __call__(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def set_total(self, total: int) -> None:
        """Give the bar its total (a bar started without one is indeterminate until then)."""
        self._progress.update(self._task, total=total)


@contextmanager
def progress_bar(total: int | None, label: str, unit: str = "bytes"
                 ) -> Iterator[ProgressHandle | None]:
    """A progress bar on stderr counting ``bytes`` or items (``unit``: ``images``,
    ``records``...), or ``None`` where none should be shown. ``total=None``: known later."""
    if not show_progress() or (total is not None and total <= 0):
        yield None
        return
    if unit == "bytes":
        counts: list = [DownloadColumn(), TransferSpeedColumn()]
    else:
        counts = [MofNCompleteColumn(), TextColumn(unit)]
    progress = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), *counts, TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )
    with progress:
        yield ProgressHandle(progress, progress.add_task(label, total=total))


class FolderPath(click.Path):
    """A click type for ``--out``: a folder; an empty value (``--out ""``, an unset shell
    variable) is refused instead of meaning the current folder."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty: name the folder to write to", param, ctx)
        return super().convert(value, param, ctx)


def plan_inputs(plan: Plan, ctx: CheckContext | None, named: Iterable[object]) -> Protected:
    """The inputs of a check or scan (what ``-o`` may never be): the paths as named, the record
    files found and the label maps read."""
    from tfod_doctor.guard import Protected

    tables = [ctx.label_map, *(c.label_map for c in ctx.by_role.values())] if ctx else []
    paths = [*(str(p) for p in named if p is not None),
             *(item.source.path for item in plan.items if item.source.protocol == "file"),
             *(table.path for table in tables if table is not None and table.path)]
    return Protected.of(paths)


def check_output(output: Path | None, inputs: Protected) -> None:
    """Refuse ``-o`` before the work starts when it may not be written (an input, or a file
    tfod-doctor did not write)."""
    from tfod_doctor.guard import check_file

    if output is not None:
        check_file(output, inputs)


def emit_report(
    report: Report, fmt: str, output: Path | None, verbose: bool, fail_on: Severity, command: str,
    rule_filter: RuleFilter | None = None, inputs: Protected | None = None,
) -> int:
    """Write the report where asked (never over ``inputs``) and return the exit code."""
    to_terminal = output is None and fmt == "text"
    options = reports.RenderOptions(
        verbose=verbose, color=use_color() and to_terminal, command=command, fail_on=fail_on,
        width=terminal_width() if to_terminal else None, rule_filter=rule_filter,
    )
    text = reports.render(report, fmt, options)
    if output is None:
        click.echo(text, nl=False)
    else:
        from tfod_doctor.guard import NO_INPUTS, write_file

        write_file(output, lambda path: path.write_text(text, encoding="utf-8"),
                   inputs or NO_INPUTS)
        summary = reports.render(report, "text", reports.RenderOptions(command=command)).split(
            "\n", 2
        )[:2]
        click.echo("\n".join(summary), err=True)
        click.echo(f"report written to {output}", err=True)
    return report.exit_code(fail_on)
