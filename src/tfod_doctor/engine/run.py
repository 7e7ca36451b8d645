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
from tfod_doctor.findings import Finding
from tfod_doctor.records import InputProblem, Inputs
from tfod_doctor.report.model import Report

#: A step after the scan: merged aggregator states -> findings and stats.
AfterScan = Callable[[dict[str, Any]], tuple[list[Finding], dict[str, Any]]]


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
    #: What to work out once every record is read: each is called with the engine's merged
    #: aggregator states and returns findings and stats (merged one level deep into the
    #: report's, so two of them can fill the same section).
    after_scan: list[AfterScan] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """Bytes to read, for progress bars."""
        return sum((item.end or item.source.size) - item.start for item in self.items)

    def add_inputs(self, found: Inputs, role: str | None = None) -> None:
        """Add the files and problems of a :func:`~tfod_doctor.records.discover` call."""
        known = {item.source.path for item in self.items}
        self.items.extend(WorkItem(s, role) for s in found.sources if s.path not in known)
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
    for hook in plan.after_scan:
        findings, extra = hook(merged.states)
        for finding in findings:
            merged.emit(finding, ctx)
        _merge_stats(stats, extra)
    # Exit code 2: inputs were named, and not one file among them could be opened.
    nothing_read = bool(plan.items or plan.problems) and not any(
        stats.opened for stats in merged.files.values()
    )
    if records == 0 and not nothing_read:
        merged.emit(statistics.empty_dataset_finding(), ctx)
    return Report.from_store(plan.inputs, merged.store, stats, nothing_read)


def _merge_stats(stats: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(stats.get(key), dict):
            stats[key] = {**stats[key], **value}
        else:
            stats[key] = value


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
