"""The Python face of tfod-doctor: notebook-friendly functions that return reports, never print.

>>> import tfod_doctor
>>> report = tfod_doctor.scan(["data/train.tfrecord"])
>>> report.summary
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tfod_doctor.catalogue import RuleFilter, unknown_selectors
from tfod_doctor.checks.context import CheckContext, LabelTable
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.engine.process import Progress
from tfod_doctor.errors import UserError
from tfod_doctor.report.model import Report


def rule_filter(select: Iterable[str] = (), ignore: Iterable[str] = ()) -> RuleFilter:
    """A rule filter, refusing selectors that name no rule (a typo would silently select none)."""
    select, ignore = list(select), list(ignore)
    unknown = unknown_selectors([*select, *ignore])
    if unknown:
        raise UserError(
            f"no rule matches {', '.join(map(repr, unknown))}; `tfod-doctor rules` lists them"
        )
    return RuleFilter(select, ignore)


def context(
    *,
    label_map: LabelTable | None = None,
    num_classes: int | None = None,
    max_boxes: int | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
) -> CheckContext:
    """The context of a scan without a pipeline.config: what the rules may assume."""
    return CheckContext(
        label_map=label_map,
        num_classes=num_classes,
        max_boxes=max_boxes,
        deep=deep,
        rule_filter=rule_filter(select, ignore),
    )


def scan(
    inputs: str | Sequence[str],
    *,
    label_map: LabelTable | None = None,
    num_classes: int | None = None,
    max_boxes: int | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    runner: str = "local",
    beam_options: str | Sequence[str] | None = None,
) -> Report:
    """Read record files (paths, directories, globs, URLs) and run the record rules on them.

    ``workers``: processes on this machine (default: one per CPU; 1 checks in this process).
    ``runner="beam"`` runs the work as an Apache Beam pipeline with ``beam_options`` instead.
    """
    if isinstance(inputs, str):
        inputs = [inputs]
    if not inputs:
        raise UserError("no input given: name record files, directories or glob patterns")
    ctx = context(label_map=label_map, num_classes=num_classes, max_boxes=max_boxes,
                  select=select, ignore=ignore, deep=deep)
    return execute(scan_plan(inputs), ctx, progress, workers=workers, runner=runner,
                   beam_options=beam_options)
