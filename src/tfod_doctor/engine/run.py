"""Running the checks over a dataset: plan the work, process it, merge, finish into a Report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.checks import base, framing, statistics
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.engine.partial import Partial
from tfod_doctor.engine.process import Progress
from tfod_doctor.engine.work import WorkItem
from tfod_doctor.errors import UserError
from tfod_doctor.findings import Finding, Location
from tfod_doctor.records import FileKind, InputProblem, Inputs
from tfod_doctor.report.model import Report

#: A step after the scan: called with the report's stats (which it may add to) and the merged
#: aggregator states; returns findings.
AfterScan = Callable[[dict[str, Any], dict[str, Any]], list[Finding]]


@dataclass
class Plan:
    """What to read: work items, the inputs as the user named them, and problems found so far."""

    inputs: list[str]
    items: list[WorkItem] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)
    #: Findings made before reading records (config and label map findings).
    findings: list[Finding] = field(default_factory=list)
    #: Extra stats to merge into the report (for example, what the config says).
    stats: dict[str, Any] = field(default_factory=dict)
    #: Files named more than once, as named again (each is read once).
    repeated: list[str] = field(default_factory=list)
    #: Steps that judge the config against the scanned records once every record is read
    #: (the model layer's: the heads' ground truth, epochs, the anchors).
    after_scan: list[AfterScan] = field(default_factory=list)
    #: The config's input readers by split: their name (``train_input_reader``), place, and the
    #: config line there.
    readers: dict[str, tuple[str, Location, str]] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int:
        """Bytes to read, for progress bars."""
        return sum((item.end or item.source.size) - item.start for item in self.items)

    def add_inputs(self, found: Inputs, role: str | None = None) -> None:
        """Add the files and problems of a :func:`~tfod_doctor.records.discover` call."""
        known = {item.source.path for item in self.items}
        for source in found.sources:
            if source.path in known:
                self.repeated.append(source.name)
            else:
                self.items.append(WorkItem(source, role))
        self.repeated.extend(found.repeated)
        self.problems.extend(found.problems)


#: Where the work runs: ``local`` (this machine; worker processes) or ``beam`` (Apache Beam).
RUNNERS = ("local", "beam")


def execute(
    plan: Plan,
    ctx: CheckContext,
    progress: Progress | None = None,
    *,
    workers: int | None = None,
    runner: str = "local",
    beam_options: str | Sequence[str] | None = None,
    split_bytes: int | None = None,
) -> Report:
    """Check every work item of the plan, merge the results and finish them into a report.

    ``workers``: worker processes on this machine (default: one per CPU; 1 checks in this
    process). ``runner="beam"`` runs the same work as an Apache Beam pipeline instead, with
    ``beam_options`` (a string of pipeline flags, or a list of them) choosing where. The report
    is the same either way, and whatever the number of workers or the size of the pieces.
    """
    if runner == "local":
        from tfod_doctor.engine.local import run_local

        merged = run_local(plan.items, ctx, progress, workers, split_bytes)
    elif runner == "beam":
        from tfod_doctor.engine.beam import run_beam

        merged = run_beam(plan.items, ctx, beam_options, split_bytes)
        if progress is not None:
            progress(plan.total_bytes)
    else:
        raise UserError(f"unknown runner {runner!r}; use one of: {', '.join(RUNNERS)}")
    return finish(plan, merged, ctx)


def finish(plan: Plan, merged: Partial, ctx: CheckContext) -> Report:
    """Turn the fully merged partial into a report: dataset findings, stats, summary."""
    aggregators = base.aggregators()
    for file_stats in merged.files.values():
        for damage, recovered in file_stats.damage_ranges():
            finding = framing.damage_finding(damage, recovered, file_stats.compressed)
            merged.emit(finding, ctx.for_role(file_stats.role))
    empty_readers = _empty_readers(plan, merged, ctx)
    _empty_files(merged, ctx, {name for _, files in empty_readers for name in files})
    for problem in plan.problems:
        merged.emit(framing.input_problem_finding(problem), ctx)
    for finding in plan.findings:
        merged.emit(finding, ctx)
    stats: dict[str, Any] = {}
    for agg in aggregators:
        findings, agg_stats = agg.finish(merged.states[agg.name], ctx)
        for finding in findings:
            merged.emit(finding, ctx)
        stats.update(agg_stats)
    files = [merged.files[name].to_dict() for name in sorted(merged.files)]
    records = sum(f["records"] for f in files)
    stats = {
        "totals": {
            "files": len(files),
            "records": records,
            "bytes": sum(f["bytes"] for f in files),
            "damaged_files": sum(1 for f in files if f["damaged_ranges"]),
            "lost_bytes": sum(f["lost_bytes"] for f in files),
        },
        "images": "decoded" if ctx.deep else "headers",
        "files": files,
        **stats,
        **plan.stats,
    }
    # Exit code 2: inputs were named, and not one file among them could be opened.
    nothing_read = bool(plan.items or plan.problems) and not any(
        stats.opened for stats in merged.files.values()
    )
    for step in plan.after_scan:
        for finding in step(stats, merged.states):
            merged.emit(finding, ctx)
    if records == 0 and not nothing_read:
        merged.emit(statistics.empty_dataset_finding(), ctx)
    if merged.left_out:
        stats["left_out"] = dict(sorted(merged.left_out.items()))
    report = Report.from_store(plan.inputs, merged.store, stats, nothing_read)
    report.fingerprints = merged.fingerprints
    return report


def _empty_readers(plan: Plan, merged: Partial, ctx: CheckContext
                   ) -> list[tuple[str, list[str]]]:
    """R025 for each input reader whose record files are all empty; returns (role, files)."""
    found = []
    for role, (label, where, line) in plan.readers.items():
        files = sorted(name for name, stats in merged.files.items() if stats.role == role)
        if files and all(merged.files[name].empty for name in files):
            merged.emit(framing.reader_without_records(label, where, files, role == "train",
                                                       line), ctx)
            found.append((role, files))
    return found


def _empty_files(merged: Partial, ctx: CheckContext, told: set[str]) -> None:
    """R007 for the empty files that no R025 names already (one per shard set)."""
    empty = [(name, FileKind(stats.kind) if stats.kind else FileKind.EMPTY)
             for name, stats in merged.files.items() if stats.empty and name not in told]
    records = {name: stats.records for name, stats in merged.files.items()}
    for finding in framing.empty_file_findings(empty, records):
        merged.emit(finding, ctx)


def scan_plan(inputs: Sequence[str], eval_inputs: Sequence[str] = ()) -> Plan:
    """A plan that reads the given paths, directories, globs or URLs (no config).

    With ``eval_inputs`` the records are split: those are the ``eval`` split and ``inputs`` the
    ``train`` split (a file named in both is eval). Without, the split is unknown.
    """
    from tfod_doctor.records import discover

    plan = Plan(inputs=[*inputs, *eval_inputs])
    if eval_inputs:
        plan.add_inputs(discover(eval_inputs), role="eval")
    plan.add_inputs(discover(inputs), role="train" if eval_inputs else None)
    return plan
