"""``fix``: repair records into new files, and write a pipeline.config and label map that fit them.

Given a pipeline.config, every input reader's records are repaired into
``OUT/<split>-0000k-of-0000N.tfrecord``; a corrected ``pipeline.config`` (input paths to the new
files, ``label_map_path``, ``num_classes``, ``max_number_of_boxes``, checkpoint version, invented
fields removed) and, when it changes, a corrected ``label_map.pbtxt`` go beside them. Given
record files, each input is repaired into shards of its own name. Without ``apply`` nothing is
written: the result is the plan.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfod_doctor.checks.context import CheckContext, LabelTable
from tfod_doctor.checkup import ConfigCheck, prepare_check
from tfod_doctor.config.label_map import parse_label_map, read_label_map
from tfod_doctor.config.rewrite import (
    ConfigEdits,
    LabelMapEdits,
    Rewrite,
    invented_reader_fields,
    rewrite_label_map,
    rewrite_pipeline,
)
from tfod_doctor.converters.shards import Sharding, check_shard_name, shard_pattern
from tfod_doctor.errors import UserError
from tfod_doctor.guard import OutputFolder, Protected, check_folder
from tfod_doctor.records import InputProblem, ProblemKind, discover
from tfod_doctor.records.inputs import read_input_head, read_input_text
from tfod_doctor.records.sniff import FileKind, sniff_file
from tfod_doctor.repair import MANIFEST, DatasetFacts, RecordSet, RepairOptions, plan_repair
from tfod_doctor.repair.run import Progress, RepairPlan

#: The OD API's default ``max_number_of_boxes``.
DEFAULT_MAX_BOXES = 100
CONFIG_NAME = "pipeline.config"
LABEL_MAP_NAME = "label_map.pbtxt"
_SHARD_SUFFIX = re.compile(r"-\d+-of-\d+$")


@dataclass
class FixResult:
    """What ``fix`` did (``applied``) or would do: the record plan and the corrected files."""

    out: Path
    records: RepairPlan
    config: Rewrite | None = None
    label_map: Rewrite | None = None
    #: Whether the label map is new (the records name classes and none was given).
    label_map_created: bool = False
    written: list[str] = field(default_factory=list)
    #: Inputs named more than once (each is read once).
    repeated: list[str] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        """Whether files were written."""
        return self.records.applied

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            **self.records.to_dict(),
            "out": str(self.out),
            "written": self.written,
            "config_changes": [vars(c) for c in self.config.changes] if self.config else [],
            "config_diff": self.config.diff if self.config else "",
            "label_map_changes": [vars(c) for c in self.label_map.changes]
            if self.label_map else [],
            "label_map_diff": self.label_map.diff if self.label_map else "",
            "label_map_created": self.label_map_created,
            "repeated_inputs": self.repeated,
        }


@dataclass(frozen=True)
class FixRequest:
    """Everything ``fix`` is asked to do besides which inputs."""

    out: Path
    apply: bool = False
    renames: Mapping[str, str] = field(default_factory=dict)
    label_map: Path | None = None
    exif: str = "apply"
    image_format: str = "png"
    drop_unfixable: bool = False
    fill_texts: bool = False
    sharding: Sharding = field(default_factory=Sharding)
    name: str | None = None
    overwrite: bool = False
    #: ``--box-layout`` / ``--box-units`` for flat box lists the data cannot tell apart.
    box_layout: str | None = None
    box_units: str | None = None

    def __post_init__(self) -> None:
        if self.name is not None:
            check_shard_name(self.name)


def is_pipeline_config(path: str) -> bool:
    """Whether one input is a pipeline.config (by name, or by looking like protobuf text)."""
    if path.endswith((".config", ".pbtxt")):
        return True
    try:
        return sniff_file(read_input_head(path, 4096)) is FileKind.PBTXT
    except OSError:
        return False


def fix(inputs: Sequence[str], request: FixRequest, progress: Progress | None = None,
        on_total: Callable[[int], None] | None = None) -> FixResult:
    """Repair ``inputs`` (one pipeline.config, or record files) as ``request`` says;
    ``progress`` counts the bytes read, ``on_total`` is told how many there will be."""
    watch = _Watch(progress, on_total)
    if len(inputs) == 1 and os.path.isfile(inputs[0]) and is_pipeline_config(inputs[0]):
        return _fix_config(Path(inputs[0]), request, watch)
    return _fix_records(inputs, request, watch)


@dataclass(frozen=True)
class _Watch:
    """Where progress goes: bytes read, and the total once it is known."""

    progress: Progress | None = None
    on_total: Callable[[int], None] | None = None


# -- label map -----------------------------------------------------------------------------------


@dataclass
class _LabelMapState:
    """The label map as given, and the corrected one once the records have been read."""

    path: Path | None
    text: str | None
    table: LabelTable | None
    rewrite: Rewrite | None = None
    created: bool = False

    @classmethod
    def read(cls, path: Path | None) -> _LabelMapState:
        if path is None:
            return cls(None, None, None)
        label_map, _ = read_label_map(path)
        text = read_input_text(path)
        return cls(path, text, label_map.table() if label_map.loadable else None)

    def adjust(self, facts: DatasetFacts) -> LabelTable | None:
        """Add the classes the records name and the label map lacks (or make one)."""
        if self.table is None and self.text is not None:
            return None  # a label map that does not parse: check says why; not ours to guess
        ids: dict[str, int] = {}
        if self.table is None:
            if not facts.unknown_texts:
                return None
            ids = {name: i for name, i in facts.class_pairs.items() if i >= 1}
            names = sorted(ids, key=ids.__getitem__) + sorted(set(facts.unknown_texts) - set(ids))
            self.created = True
        else:
            names = sorted(facts.unknown_texts)
            if not names:
                return None
        self.rewrite, _ = rewrite_label_map(self.text, LabelMapEdits(names, ids),
                                            source=str(self.path or LABEL_MAP_NAME))
        label_map, _ = parse_label_map(self.rewrite.text, LABEL_MAP_NAME)
        self.table = label_map.table()
        return self.table


# -- record files --------------------------------------------------------------------------------


def _set_name(path: str) -> str:
    stem = Path(path).name
    for ending in (".gz", ".gzip", ".zz", ".zlib"):
        stem = stem.removesuffix(ending)
    stem = re.sub(r"\.(tfrecords?|records?|tfrec)$", "", stem)
    return _SHARD_SUFFIX.sub("", stem) or "data"


def _record_sets(inputs: Sequence[str], name: str | None
                 ) -> tuple[list[RecordSet], list[InputProblem], list[str]]:
    """The record sets of ``inputs``, the files among them that cannot be read, and the files
    named more than once (each is read once)."""
    sets: dict[str, list] = {}
    unreadable: list[InputProblem] = []
    seen: set[str] = set()
    repeated: list[str] = []
    for text in inputs:
        found = discover([text])
        locked = _unreadable(found.problems)
        unreadable += locked
        fresh = []
        for source in found.sources:
            real = os.path.realpath(source.path) if source.protocol == "file" else source.path
            if real in seen:
                repeated.append(source.name)
            else:
                seen.add(real)
                fresh.append(source)
        if fresh:
            key = name or _set_name(fresh[0].path)
            sets.setdefault(key, []).extend(fresh)
        elif not found.sources and (not found.problems or len(locked) < len(found.problems)):
            # A path that names nothing: most likely a typo, so stop before writing anything.
            why = found.problems[0].message if found.problems else "no record files"
            raise UserError(f"{text}: {why}")
    if not sets:
        raise UserError(f"nothing to fix: {unreadable[0].message}")
    return [RecordSet(key, sources) for key, sources in sets.items()], unreadable, repeated


def _unreadable(problems: Sequence[InputProblem]) -> list[InputProblem]:
    """The inputs that exist but cannot be read (their records cannot be repaired)."""
    return [problem for problem in problems if problem.kind is ProblemKind.UNREADABLE]


def _fix_records(inputs: Sequence[str], request: FixRequest, watch: _Watch) -> FixResult:
    sets, unreadable, repeated = _record_sets(inputs, request.name)
    labels = _LabelMapState.read(request.label_map)
    options = _options(request, labels.table, flags=None)
    protected = (Protected.of(inputs, walked=True) | Protected.of([request.label_map])
                 | _sources_of(sets))
    with _writing(request, sets, protected, config=False) as folder:
        records = _run(sets, options, labels, request, watch, unreadable)
        result = FixResult(request.out, records, label_map=labels.rewrite,
                           label_map_created=labels.created, repeated=repeated)
        _write_side_files(result, labels, None, folder)
    return result


def _sources_of(sets: Sequence[RecordSet]) -> Protected:
    return Protected.of(source.path for s in sets for source in s.sources
                        if source.protocol == "file")


@contextmanager
def _writing(request: FixRequest, sets: Sequence[RecordSet], protected: Protected,
             config: bool) -> Iterator[OutputFolder | None]:
    """Hold ``--out`` while the run writes (with ``apply``); refuse one among the inputs.

    The label map is an output only when the run finds it must write one.
    """
    outputs = [f"{s.name}-*-of-*.tfrecord" for s in sets] + [MANIFEST]
    outputs += [CONFIG_NAME] if config else []
    if not request.apply:
        check_folder(request.out, protected, outputs)
        yield None
        return
    with OutputFolder(request.out, outputs, protected, overwrite=request.overwrite) as folder:
        yield folder


def _options(request: FixRequest, table: LabelTable | None, flags: Any,
             renames: Mapping[str, str] | None = None, boxes_key: str | None = None
             ) -> RepairOptions:
    return RepairOptions(renames={**(renames or {}), **request.renames}, label_map=table,
                         exif=request.exif, image_format=request.image_format,
                         drop_unfixable=request.drop_unfixable, flags=flags,
                         fill_texts=request.fill_texts,
                         boxes_key=boxes_key, box_layout=request.box_layout,
                         box_units=request.box_units)


def _run(sets: list[RecordSet], options: RepairOptions, labels: _LabelMapState,
         request: FixRequest, watch: _Watch, unreadable: Sequence[InputProblem]) -> RepairPlan:
    out = request.out if request.apply else None
    return plan_repair(sets, options, out=out, sharding=request.sharding,
                       progress=watch.progress, adjust=labels.adjust, on_total=watch.on_total,
                       unreadable=unreadable)


# -- pipeline.config ---------------------------------------------------------------------------


def _fix_config(path: Path, request: FixRequest, watch: _Watch) -> FixResult:
    check = prepare_check(path, base_ctx=CheckContext())
    if not check.config.readers():
        raise UserError(f"{path} has no train_input_reader or eval_input_reader: name a "
                        "pipeline.config, or the record files themselves")
    text = read_input_text(path)
    sets = _config_sets(check)
    if not sets:
        raise UserError(f"{path} names no record file that exists: nothing to fix "
                        "(tfod-doctor check says why)")
    label_path = request.label_map or _label_map_path(check)
    labels = _LabelMapState.read(label_path)
    ctx = check.ctx.for_role("train")
    intent = check.config.feature_map_intent()
    options = _options(request, labels.table, ctx.flags, intent.renames(), intent.boxes_key)
    protected = (Protected.of([path, request.label_map, *check.label_maps]) | _sources_of(sets)
                 | Protected.of(_input_patterns(check)))
    with _writing(request, sets, protected, config=True) as folder:
        records = _run(sets, options, labels, request, watch, _unreadable(check.plan.problems))
        edits = _config_edits(check, records, labels, request, text)
        result = FixResult(request.out, records, rewrite_pipeline(text, edits, source=str(path)),
                           labels.rewrite, labels.created)
        _write_side_files(result, labels, result.config, folder)
    return result


def _input_patterns(check: ConfigCheck) -> list[str]:
    """The config's input paths that are globs (the fixed shards must not match them)."""
    patterns = []
    for reader in check.config.readers().values():
        records = reader.node("tf_record_input_reader")
        patterns += [p for p in (records.all("input_path") if records else [])
                     if isinstance(p, str)]
    return patterns


def _config_sets(check: ConfigCheck) -> list[RecordSet]:
    by_role: dict[str, list] = {}
    for item in check.plan.items:
        sources = by_role.setdefault(item.role or "train", [])
        if item.source not in sources:
            sources.append(item.source)
    return [RecordSet(role, sources) for role, sources in by_role.items()]


def _label_map_path(check: ConfigCheck) -> Path | None:
    """The label map the train reader reads (else the eval reader's), when there is one."""
    for role in ("train", "eval"):
        table = check.ctx.for_role(role).label_map
        if table is not None and table.path and Path(table.path).is_file():
            return Path(table.path)
    return next((Path(path) for path in check.label_maps if Path(path).is_file()), None)


def _config_edits(check: ConfigCheck, records: RepairPlan, labels: _LabelMapState,
                  request: FixRequest, text: str) -> ConfigEdits:
    out = request.out.resolve()
    counts = {s.name: len(s.outputs) or 1 for s in records.sets}
    if not records.applied:  # the plan: name the shards as a write with these settings would
        counts = {s.name: max(1, request.sharding.num_shards or 1) for s in records.sets}
    paths = {name: [str(out / shard_pattern(name, count))] for name, count in counts.items()}
    num_classes = _num_classes(check.config.num_classes, labels.table, records.facts.max_label)
    limit = check.ctx.max_boxes or DEFAULT_MAX_BOXES
    max_boxes = records.facts.max_boxes if records.facts.max_boxes > limit else None
    label_map_path = (str(out / LABEL_MAP_NAME) if labels.rewrite is not None
                      else str(labels.path.resolve()) if labels.path is not None else None)
    return ConfigEdits(
        num_classes=num_classes, label_map_path=label_map_path, max_number_of_boxes=max_boxes,
        checkpoint_version_v2=any(f.rule == "C008" for f in check.plan.findings),
        input_paths=paths, drop_fields=invented_reader_fields(text))


def _num_classes(current: int | None, table: LabelTable | None, used: int) -> int | None:
    """The ``num_classes`` the config needs, or ``None`` to leave it: set when missing (C014),
    raised when the records use higher ids (L002), lowered to the label map when it is above
    it (C015)."""
    defined = max(table.ids) if table is not None and table.ids else 0
    needed = max(defined, used)
    if current is None or current <= 0:
        return needed or None
    if used > current or (defined and current > needed):
        return needed
    return None


def _write_side_files(result: FixResult, labels: _LabelMapState,
                      config: Rewrite | None, folder: OutputFolder | None) -> None:
    if not result.applied or folder is None:
        return
    result.written = [p for s in result.records.sets for p in s.outputs]
    result.written.append(str(result.out / MANIFEST))
    if labels.rewrite is not None:
        target = folder.add(LABEL_MAP_NAME)
        target.write_text(labels.rewrite.text, encoding="utf-8")
        result.written.append(str(target))
    if config is not None:
        target = result.out / CONFIG_NAME
        target.write_text(config.text, encoding="utf-8")
        result.written.append(str(target))

