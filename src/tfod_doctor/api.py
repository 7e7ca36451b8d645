"""The Python face of tfod-doctor: notebook-friendly functions that return reports, never print.

>>> import tfod_doctor
>>> report = tfod_doctor.check("pipeline.config")   # config, label map and records together
>>> report = tfod_doctor.scan(["data/train.tfrecord"])
>>> report.summary
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tfod_doctor.catalogue import RuleFilter, unknown_selectors
from tfod_doctor.checks.context import CheckContext, LabelTable
from tfod_doctor.engine import Plan, execute, scan_plan
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


SPLITS = ("train", "eval")


def check_plan(
    config: str | Path,
    *,
    split: str | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
) -> tuple[Plan, CheckContext]:
    """Read a pipeline.config and what it names; the plan and context of its record scan."""
    from tfod_doctor.config import prepare_check

    if split is not None and split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
    path = Path(config)
    if path.is_dir():
        candidate = path / "pipeline.config"
        if not candidate.is_file():
            raise UserError(f"{path} is a folder without a pipeline.config; name the config file")
        path = candidate
    if not path.exists():
        raise UserError(f"{config} does not exist: name your pipeline.config")
    base = context(select=select, ignore=ignore, deep=deep)
    prepared = prepare_check(str(path if path != Path(config) else config), base_ctx=base,
                             split=split)
    return prepared.plan, prepared.ctx


def check(
    config: str | Path,
    *,
    split: str | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    runner: str = "local",
    beam_options: str | Sequence[str] | None = None,
) -> Report:
    """Check a pipeline.config, its label map and every record file it names, together.

    Relative paths in the config are resolved from the working directory, as training does.
    ``split`` limits the record scan to ``"train"`` or ``"eval"`` (the config is always checked).
    ``workers``, ``runner`` and ``beam_options`` say where the records are checked, as for
    :func:`scan`. Returns a :class:`Report`; nothing is printed.
    """
    plan, ctx = check_plan(config, split=split, select=select, ignore=ignore, deep=deep)
    return execute(plan, ctx, progress, workers=workers, runner=runner,
                   beam_options=beam_options)
