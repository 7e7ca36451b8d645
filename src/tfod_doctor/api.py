"""The Python face of tfod-doctor: notebook-friendly functions that return results, never print.

>>> import tfod_doctor
>>> report = tfod_doctor.check("pipeline.config")   # config, label map and records together
>>> report = tfod_doctor.scan(["data/train.tfrecord"])
>>> report.summary
>>> result = tfod_doctor.convert("coco", "annotations.json", "records/", eval_ratio=0.2)
>>> result.splits["train"].files, result.problems
>>> tfod_doctor.export("coco", ["records/eval-*.tfrecord"], "coco_eval/")
>>> plan = tfod_doctor.fix("pipeline.config", "fixed/")             # the plan: nothing written
>>> result = tfod_doctor.fix("pipeline.config", "fixed/", apply=True)
>>> print(result.config.diff)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tfod_doctor.catalogue import RuleFilter, unknown_selectors
from tfod_doctor.checks.context import CheckContext, InputFlags, LabelTable
from tfod_doctor.config.project import ProjectSettings, load_project
from tfod_doctor.engine import Plan, execute, scan_plan
from tfod_doctor.engine.process import Progress
from tfod_doctor.errors import UserError
from tfod_doctor.findings import Finding
from tfod_doctor.policy import FindingPolicy
from tfod_doctor.report.model import Report

if TYPE_CHECKING:  # converting and fixing are imported when asked for: checks start faster
    from tfod_doctor.converters import ConversionResult, ExifMode, ExportResult, Reencode
    from tfod_doctor.explain import Explanation
    from tfod_doctor.fixing import FixResult

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
    near_duplicates: bool = False,
    project: ProjectSettings | None = None,
    baseline: PathLike | None = None,
) -> CheckContext:
    """The context of a scan without a pipeline.config: what the rules may assume.

    A label map given here stands for an input reader with ``label_map_path`` set, unless
    ``label_map_in_reader`` says otherwise. ``flags`` are the InputReader switches (masks,
    keypoints...) the records are meant for. ``project`` (a project file's settings) gives the
    rules selected when ``select`` is empty, adds its ignores to ``ignore``, and overrides
    severities; ``baseline`` is a baseline file to read (if it exists) or to write.
    ``near_duplicates`` compares the images' perceptual hashes across the splits (D017; not
    turned on by ``deep``, which it would make half as fast).
    """
    project = project or ProjectSettings()
    select = list(select) or list(project.select or ())
    ignore = [*(project.ignore or ()), *ignore]
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
        near_duplicates=near_duplicates,
        rule_filter=rule_filter(select, ignore),
        policy=_policy(project, baseline),
        quality=project.quality,
        expect=project.expect,
    )


def project_settings(start: PathLike | None, config_file: PathLike | None = None,
                     isolated: bool = False) -> ProjectSettings:
    """The project file's settings for inputs in the folder ``start`` (found by walking up;
    ``config_file`` names one; ``isolated`` ignores any)."""
    return load_project(None if start is None else Path(start),
                        None if config_file is None else Path(config_file), isolated)


def _policy(project: ProjectSettings, baseline: PathLike | None) -> FindingPolicy | None:
    """The finding policy of a project file and a baseline file (``None``: neither)."""
    from tfod_doctor.report.baseline import read_baseline

    policy = project.policy()
    if baseline is not None:
        path = Path(baseline)
        fingerprints = read_baseline(path) if path.exists() else None
        policy = policy.with_baseline(fingerprints, collect=fingerprints is None)
    elif not policy.severities and not policy.file_ignores:
        return None
    return policy


def read_label_table(path: PathLike) -> tuple[LabelTable | None, list[Finding]]:
    """A label map file as the decoder's lookup table (``None`` if training could not load it),
    and the label map's own findings (syntax errors with line:column, duplicate ids...)."""
    from tfod_doctor.config import read_label_map

    if not Path(path).exists():
        raise UserError(f"the label map {os.fspath(path)} does not exist")
    label_map, findings = read_label_map(os.fspath(path))
    return (label_map.table() if label_map.loadable else None), list(findings)


def scan_plan_and_context(
    inputs: PathLike | Sequence[PathLike],
    *,
    eval_inputs: PathLike | Sequence[PathLike] = (),
    label_map: LabelTable | PathLike | None = None,
    num_classes: int | None = None,
    max_boxes: int | None = None,
    flags: InputFlags | None = None,
    label_map_in_reader: bool | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    near_duplicates: bool = False,
    project: ProjectSettings | None = None,
    baseline: PathLike | None = None,
) -> tuple[Plan, CheckContext]:
    """What :func:`scan` reads and assumes, before it reads (the CLI sizes its progress bar)."""
    inputs, eval_inputs = _paths(inputs), _paths(eval_inputs)
    if not inputs and not eval_inputs:
        raise UserError("no input given: name record files, directories or glob patterns")
    label_findings: list[Finding] = []
    if label_map is not None and not isinstance(label_map, LabelTable):
        label_map, label_findings = read_label_table(label_map)
    ctx = context(label_map=label_map, num_classes=num_classes, max_boxes=max_boxes,
                  flags=flags, label_map_in_reader=label_map_in_reader, select=select,
                  ignore=ignore, deep=deep, near_duplicates=near_duplicates, project=project,
                  baseline=baseline)
    plan = scan_plan(inputs, eval_inputs)
    plan.findings.extend(label_findings)
    return plan, ctx


def scan(
    inputs: PathLike | Sequence[PathLike],
    *,
    eval_inputs: PathLike | Sequence[PathLike] = (),
    label_map: LabelTable | PathLike | None = None,
    num_classes: int | None = None,
    max_boxes: int | None = None,
    flags: InputFlags | None = None,
    label_map_in_reader: bool | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    near_duplicates: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    runner: str = "local",
    beam_options: str | Sequence[str] | None = None,
    project: ProjectSettings | None = None,
    baseline: PathLike | None = None,
) -> Report:
    """Read record files (paths, directories, globs, URLs) and run the record rules on them.

    ``eval_inputs`` names the eval split (``inputs`` are then the train split), which turns on
    the train/eval leakage check and eval-specific severities. ``label_map`` (a label map file or
    a :class:`LabelTable`), ``num_classes``, ``max_boxes`` and ``flags`` stand in for what a
    pipeline.config would say; rules that need a value that is not given stay quiet
    (``max_boxes`` defaults to the OD API's 100). ``workers``: processes on this machine
    (default: one per CPU; 1 checks in this process). ``runner="beam"`` runs the work as an
    Apache Beam pipeline with ``beam_options`` instead. ``project`` and ``baseline``: as for
    :func:`check` (no project file is looked for unless given).
    """
    plan, ctx = scan_plan_and_context(
        inputs, eval_inputs=eval_inputs, label_map=label_map, num_classes=num_classes,
        max_boxes=max_boxes, flags=flags, label_map_in_reader=label_map_in_reader,
        select=select, ignore=ignore, deep=deep, near_duplicates=near_duplicates,
        project=project, baseline=baseline,
    )
    report = execute(plan, ctx, progress, workers=workers, runner=runner,
                     beam_options=beam_options)
    save_baseline(report, ctx, baseline)
    return report


def save_baseline(report: Report, ctx: CheckContext, baseline: PathLike | None) -> int | None:
    """Write the baseline file of a run that was asked to make one (``--baseline`` naming a
    file that did not exist); returns how many findings it holds, ``None`` when none was made."""
    if baseline is None or ctx.policy is None or not ctx.policy.collect:
        return None
    from tfod_doctor.report.baseline import write_baseline

    return write_baseline(Path(baseline), report.fingerprints)


def _paths(inputs: PathLike | Sequence[PathLike]) -> list[str]:
    """Inputs as strings: one path or many, ``str`` or ``pathlib.Path``."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    return [os.fspath(item) for item in inputs]


SPLITS = ("train", "eval")


def check_plan(
    config: str | Path,
    *,
    split: str | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    deep: bool = False,
    near_duplicates: bool = False,
    project: ProjectSettings | None = None,
    baseline: PathLike | None = None,
) -> tuple[Plan, CheckContext]:
    """Read a pipeline.config and what it names; the plan and context of its record scan.

    ``project``: a project file's settings (default: the one found from the config's folder).
    """
    from tfod_doctor.checkup import prepare_check

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
    if project is None:
        project = project_settings(path.parent)
    base = context(select=select, ignore=ignore, deep=deep, near_duplicates=near_duplicates,
                   project=project, baseline=baseline)
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
    near_duplicates: bool = False,
    progress: Progress | None = None,
    workers: int | None = None,
    runner: str = "local",
    beam_options: str | Sequence[str] | None = None,
    project: ProjectSettings | None = None,
    baseline: PathLike | None = None,
) -> Report:
    """Check a pipeline.config, its label map and every record file it names, together.

    Relative paths in the config are resolved from the working directory, as training does.
    ``split`` limits the record scan to ``"train"`` or ``"eval"`` (the config is always checked).
    ``workers``, ``runner`` and ``beam_options`` say where the records are checked, as for
    :func:`scan`. ``project``: the settings of a project file (default: the
    ``tfod-doctor.toml`` or ``pyproject.toml`` ``[tool.tfod-doctor]`` found by walking up from
    the config's folder). ``baseline``: a baseline file; when it exists, the findings it lists
    are left out; when it does not, it is written with every finding of this run. Returns a
    :class:`Report`; nothing is printed.
    """
    plan, ctx = check_plan(config, split=split, select=select, ignore=ignore, deep=deep,
                           near_duplicates=near_duplicates, project=project, baseline=baseline)
    report = execute(plan, ctx, progress, workers=workers, runner=runner,
                     beam_options=beam_options)
    save_baseline(report, ctx, baseline)
    return report


#: What ``lint`` checks: the config, the label map and the model, without the records.
LINT_RULES = ("C", "M", "A")
#: Rules about files a config names (records, checkpoint, label map): in a repository those
#: are usually not there (data and checkpoints live elsewhere), so ``lint`` leaves them out
#: unless asked to look (``paths=True``).
PATH_RULES = ("C009", "C010", "C016", "C018", "C019", "C020", "C024")


def lint(
    paths: PathLike | Sequence[PathLike],
    *,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    check_paths: bool = False,
    project: ProjectSettings | None = None,
) -> Report:
    """Check pipeline.config and label map files on their own, without reading any record:
    the fast check a pre-commit hook runs on the files a commit changes.

    A ``.pbtxt`` is read as a label map; anything else as a pipeline.config (with the label map
    it names, when that is there). ``check_paths`` also reports paths in the configs that point
    at nothing (off by default: data and checkpoints are rarely in the repository).
    """
    from tfod_doctor.checkup import prepare_check
    from tfod_doctor.config import read_label_map

    named = _paths(paths)
    if not named:
        raise UserError("no file given: name pipeline.config and label map files")
    select = list(select) or list((project.select if project else None)
                                  or [s for s in LINT_RULES if not unknown_selectors([s])])
    ignore = [*ignore, *(() if check_paths else PATH_RULES)]
    ctx = context(select=select, ignore=ignore, project=project)
    plan = Plan(inputs=named)
    for path in named:
        if not os.path.isfile(path):
            raise UserError(f"{path} does not exist or is not a file")
        if path.endswith(".pbtxt"):
            plan.findings.extend(read_label_map(path)[1])
        else:
            plan.findings.extend(prepare_check(path, base_ctx=ctx).plan.findings)
    plan.findings = list({_same_place(f): f for f in plan.findings}.values())
    report = execute(plan, ctx)
    report.stats = {"linted": named}
    return report


def _same_place(finding: Finding) -> tuple:
    """A finding's identity whatever the spelling of its file's path (a label map named on the
    command line and found through a config is one file)."""
    where = finding.location
    real = os.path.realpath(where.file) if where.file and "://" not in where.file else where.file
    return (finding.rule, real, where.line, where.column, where.key, finding.message)


def explain(
    text: str, *, config: str | Path | None = None, workers: int | None = None
) -> Explanation | None:
    """Explain a TensorFlow / OD API error, traceback or whole log; ``None`` if not recognised.

    With ``config`` (a pipeline.config), the candidate causes are checked in the files it names
    (only the rules they need): ``explanation.confirmation`` says which causes the files show,
    where, and which they rule out.
    """
    from tfod_doctor.explain import explain as explain_text
    from tfod_doctor.explain.confirm import (
        Confirmation,
        confirmation,
        needs_deep,
        rules_to_check,
    )

    found = explain_text(text, config=None if config is None else str(config))
    if found is None or config is None:
        return found
    rules = rules_to_check(found)
    if rules:
        try:
            report = check(config, select=rules, deep=needs_deep(found), workers=workers)
        except UserError as exc:
            found.confirmation = Confirmation(str(config), error=str(exc))
            return found
        found.confirmation = confirmation(found, str(config), report)
    else:
        found.confirmation = confirmation(found, str(config), Report(inputs=[str(config)]))
    return found


E = TypeVar("E", bound=Enum)
#: Formats whose classes are names, so an existing label map can give them their ids.
_NAMED_CLASS_FORMATS = ("voc", "csv")


def label_map_items(path: str | Path) -> tuple[tuple[int, str], ...]:
    """``(id, name)`` of each item of a label map; a :class:`UserError` if training could not
    use it (a syntax error, ids below 1, a name twice)."""
    from tfod_doctor.config import read_label_map
    from tfod_doctor.findings import Severity

    label_map, findings = read_label_map(path)
    errors = [f for f in findings if f.severity >= Severity.DATA_LOSS]
    if not label_map.loadable or errors:
        first = errors[0] if errors else None
        detail = f"{first.location}: {first.message}" if first else "it does not parse"
        raise UserError(f"the label map {path} cannot be used: {detail} "
                        f"(tfod-doctor check shows every problem)")
    items = tuple((item.id, item.name) for item in label_map.items)
    names = [name for _, name in items]
    if len(set(names)) != len(names) or len({i for i, _ in items}) != len(items):
        raise UserError(f"the label map {path} repeats a name or an id")
    return items


def _choice(kind: type[E], value: str | E, option: str) -> E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise UserError(f"{option} must be one of {choices}, not {value!r}") from None


def convert(
    fmt: str,
    source: str | Path,
    out: str | Path,
    *,
    images: str | Path | None = None,
    eval_source: str | Path | None = None,
    eval_ratio: float | None = None,
    seed: int = 0,
    shuffle: bool = True,
    name: str = "train",
    num_shards: int | None = None,
    shard_size: int | str | None = None,
    exif: str | ExifMode = "auto",
    reencode: str | Reencode = "keep",
    quality: int = 95,
    verify_images: bool = False,
    allow_lossy: bool = False,
    strict: bool = False,
    clip_boxes: bool = False,
    classes: Sequence[str] | None = None,
    label_map: str | Path | None = None,
    keep_category_ids: bool = False,
    workers: int | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ConversionResult:
    """Convert COCO, VOC, YOLO or CSV annotations (``fmt``) into OD API records under ``out``.

    Writes TFRecord shards, ``label_map.pbtxt``, ``input_reader.config`` and
    ``conversion.json``. Bad annotations are skipped and listed in ``result.problems``
    (``strict=True`` raises at the first instead). A conversion that would lose information
    raises unless ``allow_lossy=True``. ``on_total`` is told how many images will be read
    before reading starts; ``progress`` is advanced by one per image. ``label_map`` (VOC, CSV)
    keeps the ids of an existing label map; names it lacks are unknown categories.
    """
    from tfod_doctor.converters import (
        ConvertOptions,
        ExifMode,
        ImageOptions,
        Reencode,
        Sharding,
        convert_dataset,
        parse_size,
    )

    if label_map is not None and fmt not in _NAMED_CLASS_FORMATS:
        raise UserError(f"a label map gives ids to class names: {fmt} declares its own "
                        "categories (--keep-category-ids keeps COCO's ids)")
    if label_map is not None and classes is not None:
        raise UserError("give --classes or --label-map, not both")
    if isinstance(shard_size, str):
        shard_size = parse_size(shard_size)
    if not 1 <= quality <= 100:
        raise UserError(f"the JPEG quality must be between 1 and 100, not {quality}")
    options = ConvertOptions(
        images=Path(images) if images is not None else None,
        eval_source=Path(eval_source) if eval_source is not None else None,
        eval_ratio=eval_ratio, seed=seed, shuffle=shuffle, name=name,
        sharding=Sharding(num_shards, shard_size),
        image=ImageOptions(_choice(ExifMode, exif, "exif"),
                           _choice(Reencode, reencode, "reencode"), quality, verify_images),
        allow_lossy=allow_lossy, strict=strict, clip_boxes=clip_boxes, workers=workers,
        classes=tuple(classes) if classes is not None else None,
        label_map=label_map_items(label_map) if label_map is not None else None,
        keep_category_ids=keep_category_ids, overwrite=overwrite,
        inputs=(Path(label_map),) if label_map is not None else (),
    )
    return convert_dataset(fmt, Path(source), Path(out), options, progress, on_total)


def export(
    fmt: str,
    records: str | Sequence[str],
    out: str | Path,
    *,
    manifest: str | Path | None = None,
    label_map: str | Path | None = None,
    allow_lossy: bool = False,
    strict: bool = False,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Export OD API record files (paths, globs, folders) to ``fmt`` (``coco``) under ``out``.

    Categories get their original ids back from the ``conversion.json`` beside the records (or
    ``manifest``), or from ``label_map``. Damaged or unreadable records are skipped and listed
    in ``result.problems``.
    """
    from tfod_doctor.converters import ExportOptions, export_records

    if isinstance(records, str):
        records = [records]
    options = ExportOptions(Path(manifest) if manifest is not None else None, allow_lossy,
                            strict, overwrite,
                            label_map_items(label_map) if label_map is not None else None,
                            (Path(label_map),) if label_map is not None else ())
    return export_records(fmt, list(records), Path(out), options, progress)


def fix(
    inputs: PathLike | Sequence[PathLike],
    out: PathLike,
    *,
    apply: bool = False,
    renames: dict[str, str] | None = None,
    label_map: PathLike | None = None,
    exif: str = "apply",
    image_format: str = "png",
    drop_unfixable: bool = False,
    fill_text: bool = False,
    num_shards: int | None = None,
    shard_size: int | str | None = None,
    name: str | None = None,
    overwrite: bool = False,
    box_layout: str | None = None,
    box_units: str | None = None,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> FixResult:
    """Repair a pipeline.config's records (or record files) into ``out``; the plan unless ``apply``.

    With ``apply=True`` writes ``NAME-0000k-of-0000N.tfrecord`` shards, ``manifest.jsonl`` (a
    line for every input record: where it went and what changed, or why it was dropped) and,
    for a config, a corrected ``pipeline.config`` and (when it changes) ``label_map.pbtxt``.
    Inputs are never modified. ``renames`` maps record keys to OD API keys; ``exif`` is
    ``apply`` (turn the pixels upright, keep the boxes), ``reverse`` (turn the boxes into the
    stored pixels) or ``keep``; ``drop_unfixable`` drops boxes and records that cannot be
    repaired instead of keeping them as they are; ``fill_text`` writes class names from the ids
    through the label map where records have ids only. Flat box lists (``boxes``, ``bbox``...) are
    split in the one layout that fits every box; when several fit, :class:`UserError` asks for
    ``box_layout`` (``yxyx``, ``xyxy``, ``xywh``, ``cxcywh``) and ``box_units`` (``normalized``,
    ``pixels``).
    """
    from tfod_doctor.converters import Sharding, parse_size
    from tfod_doctor.fixing import FixRequest
    from tfod_doctor.fixing import fix as run_fix
    from tfod_doctor.repair import EXIF_CHOICES

    if exif not in EXIF_CHOICES:
        raise UserError(f"exif must be one of {', '.join(EXIF_CHOICES)}, not {exif!r}")
    if image_format not in ("png", "jpeg"):
        raise UserError(f"image_format must be png or jpeg, not {image_format!r}")
    size = parse_size(shard_size) if isinstance(shard_size, str) else shard_size
    request = FixRequest(
        out=Path(out), apply=apply, renames=dict(renames or {}),
        label_map=Path(label_map) if label_map is not None else None, exif=exif,
        image_format=image_format, drop_unfixable=drop_unfixable, fill_texts=fill_text,
        sharding=Sharding(num_shards=num_shards, shard_bytes=size), name=name,
        overwrite=overwrite, box_layout=box_layout, box_units=box_units)
    return run_fix(_paths(inputs), request, progress, on_total)
