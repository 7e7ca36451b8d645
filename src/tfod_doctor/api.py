"""The Python face of tfod-doctor: notebook-friendly functions that return reports, never print.

>>> import tfod_doctor
>>> report = tfod_doctor.scan(["data/train.tfrecord"])
>>> report.summary
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from tfod_doctor.catalogue import RuleFilter, unknown_selectors
from tfod_doctor.checks.context import CheckContext, InputFlags, LabelTable
from tfod_doctor.engine import execute, scan_plan
from tfod_doctor.engine.process import Progress
from tfod_doctor.errors import UserError
from tfod_doctor.report.model import Report

PathLike = str | os.PathLike


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
    flags: InputFlags | None = None,
    label_map_in_reader: bool | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
) -> CheckContext:
    """The context of a scan without a pipeline.config: what the rules may assume.

    A label map given here stands for an input reader with ``label_map_path`` set, unless
    ``label_map_in_reader`` says otherwise. ``flags`` are the InputReader switches (masks,
    keypoints...) the records are meant for.
    """
    for name, value in (("num_classes", num_classes), ("max_boxes", max_boxes)):
        if value is not None and value < 1:
            raise UserError(f"{name} must be 1 or more, not {value}")
    return CheckContext(
        label_map=label_map,
        label_map_in_reader=label_map_in_reader,
        num_classes=num_classes,
        max_boxes=max_boxes,
        flags=flags or InputFlags(),
        deep=deep,
        rule_filter=rule_filter(select, ignore),
    )


def scan(
    inputs: PathLike | Sequence[PathLike],
    *,
    eval_inputs: PathLike | Sequence[PathLike] = (),
    label_map: LabelTable | None = None,
    num_classes: int | None = None,
    max_boxes: int | None = None,
    flags: InputFlags | None = None,
    label_map_in_reader: bool | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Read record files (paths, directories, globs, URLs) and run the record rules on them.

    ``eval_inputs`` names the eval split (``inputs`` are then the train split), which turns on
    the train/eval leakage check and eval-specific severities. ``label_map``, ``num_classes``,
    ``max_boxes`` and ``flags`` stand in for what a pipeline.config would say; rules that need a
    value that is not given stay quiet (``max_boxes`` defaults to the OD API's 100).
    """
    inputs, eval_inputs = _paths(inputs), _paths(eval_inputs)
    if not inputs and not eval_inputs:
        raise UserError("no input given: name record files, directories or glob patterns")
    ctx = context(label_map=label_map, num_classes=num_classes, max_boxes=max_boxes,
                  flags=flags, label_map_in_reader=label_map_in_reader, select=select,
                  ignore=ignore, deep=deep)
    return execute(scan_plan(inputs, eval_inputs), ctx, progress)


def _paths(inputs: PathLike | Sequence[PathLike]) -> list[str]:
    """Inputs as strings: one path or many, ``str`` or ``pathlib.Path``."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return [os.fspath(item) for item in inputs]
