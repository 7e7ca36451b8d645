"""``check pipeline.config``: read the config, find its label map, checkpoint and record files the
way training does, cross-check them, and plan the record scan with the context the config gives.

Relative paths are resolved against the working directory (as training does); when that finds
nothing, the config's folder is tried too and the finding says which one matched.
"""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tfod_doctor.catalogue import config as C
from tfod_doctor.checks.context import Batching, CheckContext, InputFlags, LabelTable
from tfod_doctor.config.label_map import LabelMap, LabelMapUnreadable, read_label_map
from tfod_doctor.config.pipeline import PLACEHOLDER, PipelineConfig, read_pipeline
from tfod_doctor.config.validate import Node, Value
from tfod_doctor.engine import Plan
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.model.checkpoint import checkpoint_findings
from tfod_doctor.model.coverage import review_anchors
from tfod_doctor.model.review import review_model
from tfod_doctor.records import discover
from tfod_doctor.records.inputs import open_input
from tfod_doctor.records.sources import WalkBoundReached, has_glob, is_url, local_glob

ROLES = ("train", "eval")
_FLAG_FIELDS = ("load_instance_masks", "mask_type", "num_keypoints",
                "load_keypoint_depth_features", "num_additional_channels",
                "load_multiclass_scores", "load_context_features", "load_dense_pose",
                "load_track_id")


@dataclass(frozen=True)
class Resolved:
    """A path from the config, resolved as training would (``base``: ``cwd``, ``config`` or
    ``url``), with what it matches; ``base`` is ``None`` when it matches nothing at all."""

    written: str
    shown: str
    base: str | None
    matches: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Whether the path matches something from the working directory (or is a URL)."""
        return self.base in ("cwd", "url")


class Resolver:
    """Resolve config paths against the working directory, then the config's folder."""

    def __init__(self, cwd: Path, config_folder: Path) -> None:
        self.cwd = cwd
        self.config_folder = config_folder

    def resolve(self, written: str) -> Resolved:
        """Where ``written`` points, as training started in ``cwd`` would see it."""
        if is_url(written):
            return Resolved(written, written, "url", (written,))
        if os.path.isabs(written):
            return Resolved(written, written, "cwd" if _matches(written) else None,
                            tuple(_matches(written)))
        here = _matches(str(self.cwd / written))
        if here:
            return Resolved(written, written, "cwd", tuple(here))
        there_path = str(self.config_folder / written)
        there = _matches(there_path)
        if there:
            return Resolved(written, there_path, "config", tuple(there))
        return Resolved(written, written, None)


def _matches(path: str) -> list[str]:
    if has_glob(path):
        try:
            return local_glob(path)
        except WalkBoundReached:  # taken as is: reading the records reports the bound
            return [path]
    return [path] if os.path.exists(path) else []


@dataclass
class ConfigCheck:
    """What ``check`` needs to run: the plan (files and findings so far) and the context."""

    config: PipelineConfig
    plan: Plan
    ctx: CheckContext
    label_maps: dict[str, LabelMap] = field(default_factory=dict)


def prepare_check(
    config_path: str | Path, *, base_ctx: CheckContext, split: str | None = None,
    cwd: str | Path | None = None,
) -> ConfigCheck:
    """Read the config and everything it names; plan the record scan of ``split`` (or all)."""
    config, findings = read_pipeline(config_path)
    resolver = Resolver(Path(cwd or os.getcwd()), config.folder)
    plan = Plan(inputs=[str(config_path)])
    plan.findings.extend(findings)
    check = ConfigCheck(config, plan, base_ctx)
    readers = config.readers()
    tables = {role: _label_map_for(check, resolver, role, reader)
              for role, reader in readers.items()}
    plan.findings.extend(_class_count_findings(check))
    plan.findings.extend(_checkpoint_findings(check, resolver))
    review_model(config, plan)
    files: dict[str, list[str]] = {}
    for role, reader in readers.items():
        files[role] = _plan_inputs(check, resolver, role, reader,
                                   read=split is None or split == role)
    plan.findings.extend(_overlap_findings(config, files))
    check.ctx = _context(config, base_ctx, tables)
    plan.stats["config"] = _facts(check, files)
    plan.after_scan.append(functools.partial(review_anchors, config))
    return check


# -- label map -------------------------------------------------------------------------------


def _label_map_for(check: ConfigCheck, resolver: Resolver, role: str,
                   reader: Node) -> LabelTable | None:
    config = check.config
    written = reader.get("label_map_path")
    if not written or PLACEHOLDER in written:
        return None
    pos = reader.value_pos("label_map_path")
    resolved = resolver.resolve(written)
    if resolved.base is None:
        check.plan.findings.append(config.finding(
            C.LABEL_MAP_NOT_FOUND, f"{role}_input_reader.label_map_path {written!r} does not "
            f"exist (looked in {resolver.cwd} and in the config's folder)", pos,
            tensorflow=f"NotFoundError: {written}; No such file or directory"))
        return None
    if resolved.base == "config":
        check.plan.findings.append(_relative_finding(config, resolved, pos, "label_map_path"))
    path = resolved.matches[0]
    if os.path.isdir(path):
        check.plan.findings.append(config.finding(
            C.LABEL_MAP_NOT_FOUND, f"label_map_path {written!r} is a folder, not a label map "
            "file", pos))
        return None
    label_map = check.label_maps.get(path)
    if label_map is None:
        try:
            label_map, findings = read_label_map(path)
        except LabelMapUnreadable as exc:
            # Like a missing one: reported at the config line, and the records still checked.
            check.plan.findings.append(config.finding(
                C.LABEL_MAP_NOT_FOUND, f"{role}_input_reader.label_map_path {written!r} cannot "
                f"be read: {exc.reason}", pos, reason=exc.reason))
            return None
        check.label_maps[path] = label_map
        check.plan.findings.extend(findings)
    return label_map.table() if label_map.loadable and label_map.items else None


def _class_count_findings(check: ConfigCheck) -> list[Finding]:
    config, num_classes = check.config, check.config.num_classes
    if not num_classes or num_classes <= 0 or config.arch_node is None:
        return []
    findings: list[Finding] = []
    pos = config.arch_node.value_pos("num_classes")
    for label_map in check.label_maps.values():
        if not label_map.items or not label_map.loadable:
            continue
        findings += label_map.above(num_classes)
        if num_classes > label_map.max_id:
            findings.append(config.finding(
                C.NUM_CLASSES_ABOVE_MAP, f"num_classes is {num_classes} but the largest id in "
                f"{label_map.path} is {label_map.max_id}: {num_classes - label_map.max_id} "
                "model output(s) belong to no class", pos,
                f"set num_classes: {label_map.max_id}", label_map=label_map.path,
                max_id=label_map.max_id))
    return findings


# -- checkpoint ------------------------------------------------------------------------------


def _checkpoint_findings(check: ConfigCheck, resolver: Resolver) -> list[Finding]:
    config = check.config
    train = config.train_config
    written = train.get("fine_tune_checkpoint") if train else ""
    if not train or not written:
        return []
    pos = train.value_pos("fine_tune_checkpoint")
    if PLACEHOLDER in written:
        return [config.finding(C.PLACEHOLDER_PATH, "fine_tune_checkpoint is still the "
                               f"placeholder {written!r}", pos,
                               "point it at the checkpoint prefix of the model you downloaded, "
                               "e.g. .../checkpoint/ckpt-0")]
    if is_url(written):
        return []
    prefix = resolver.resolve(written + ".index")
    if prefix.base is not None:
        findings = [] if prefix.found else [
            _relative_finding(config, prefix, pos, "fine_tune_checkpoint")]
        path = Path(prefix.matches[0][:-6])
        unreadable = _unreadable_checkpoint_file(path)
        if unreadable is not None:
            findings.append(config.finding(
                C.CHECKPOINT_NOT_FOUND, f"fine_tune_checkpoint {written!r} cannot be read: "
                f"{unreadable}", pos, "make the checkpoint's files readable to the user "
                "who trains", reason=unreadable))
            return findings
        restore, facts = checkpoint_findings(config, path)
        if facts is not None:
            check.plan.stats.setdefault("model", {})["checkpoint"] = facts.to_dict()
        return findings + restore
    as_file = resolver.resolve(written)
    if as_file.base is not None:
        return [_not_a_prefix(config, written, Path(as_file.matches[0]), pos)]
    return [config.finding(
        C.CHECKPOINT_NOT_FOUND, f"fine_tune_checkpoint {written!r} does not exist: there is no "
        f"{written}.index", pos, _prefix_hint(resolver, written),
        tensorflow=C.CHECKPOINT_NOT_FOUND.tf_message)]


def _unreadable_checkpoint_file(prefix: Path) -> str | None:
    """Which file of the checkpoint at ``prefix`` cannot be opened, and why (``None``: all can)."""
    for path in [prefix.with_name(prefix.name + ".index"),
                 *sorted(prefix.parent.glob(glob.escape(prefix.name) + ".data-*"))]:
        try:
            with open_input(path, cap=None):  # a FIFO is refused, not waited on
                pass
        except OSError as exc:
            return f"{path.name}: {exc.strerror or exc}"
    return None


def _not_a_prefix(config: PipelineConfig, written: str, path: Path, pos) -> Finding:
    if path.is_dir():
        prefixes = sorted(p.name[:-6] for p in path.glob("*.index"))
        hint = (f"use the prefix: {os.path.join(written, prefixes[-1])}" if prefixes
                else "name the checkpoint prefix inside the folder (e.g. checkpoint/ckpt-0)")
        what = "a folder"
        tensorflow = f"DataLossError: Unable to open table file {written}: Is a directory"
    elif ".data-" in path.name:
        stem = path.name.split(".data-")[0]
        hint = f"use the prefix without the suffix: {os.path.join(os.path.dirname(written), stem)}"
        what = "a checkpoint data file"
        tensorflow = (f"DataLossError: Unable to open table file {written}: not an sstable (bad "
                      "magic number)")
    else:
        stem = path.name.split(".index")[0].split(".data-")[0]
        hint = f"use the prefix without the suffix: {os.path.join(os.path.dirname(written), stem)}"
        what = "a checkpoint file"
        # TensorFlow reads FILE.index as a checkpoint with no variables, so the OD API finds
        # no object graph in it.
        tensorflow = C.CHECKPOINT_NOT_PREFIX.tf_message
    return config.finding(C.CHECKPOINT_NOT_PREFIX, f"fine_tune_checkpoint {written!r} is {what}, "
                          "not a checkpoint prefix", pos, hint, tensorflow=tensorflow)


def _prefix_hint(resolver: Resolver, written: str) -> str | None:
    folder = resolver.resolve(os.path.dirname(written) or ".")
    if folder.base is None or not os.path.isdir(folder.matches[0]):
        return None
    prefixes = sorted(p.name[:-6] for p in Path(folder.matches[0]).glob("*.index"))
    if not prefixes:
        return None
    return ("checkpoints in that folder: " + ", ".join(prefixes[:5]) + "; name one of them "
            "(without .index)")


# -- inputs ----------------------------------------------------------------------------------


def _plan_inputs(check: ConfigCheck, resolver: Resolver, role: str, reader: Node,
                 read: bool) -> list[str]:
    """Resolve a reader's input paths, report those that match nothing, add the files."""
    config = check.config
    records = reader.node("tf_record_input_reader")
    entries = [e for e in (records.entries("input_path") if records else [])
               if isinstance(e, Value)]
    resolved = [(entry, resolver.resolve(entry.value)) for entry in entries
                if PLACEHOLDER not in entry.value]
    for entry in entries:
        if PLACEHOLDER in entry.value:
            check.plan.findings.append(config.finding(
                C.PLACEHOLDER_PATH, f"{role} input_path is still the placeholder "
                f"{entry.value!r}", entry.pos))
    some_found = any(r.base is not None for _, r in resolved)
    usable: list[str] = []
    for entry, found in resolved:
        check.plan.findings += _input_findings(config, role, entry, found, some_found)
        if found.base is not None:
            usable.append(found.shown)
    inputs = discover(usable)
    files = [source.path for source in inputs.sources]
    weights = reader.all("sample_from_datasets_weights")
    if weights and inputs.sources and len(weights) != len(inputs.sources):
        check.plan.findings.append(config.finding(
            C.REFUSED_BY_TRAINING, f"{role}_input_reader has {len(weights)} "
            f"sample_from_datasets_weights but its input_path matches {len(inputs.sources)} "
            "file(s); training needs one weight per file", reader.where(
                "sample_from_datasets_weights"),
            tensorflow="ValueError: Expected the number of input files to be the same as the "
                       "number of dataset sample weights."))
    if read:
        check.plan.add_inputs(inputs, role)
        check.plan.readers[role] = (_reader_label(config, role),
                                    Location(file=config.path, line=reader.pos.line,
                                             column=reader.pos.column),
                                    config.text.parsed.line_text(reader.pos.line))
    return files


def _reader_label(config: PipelineConfig, role: str) -> str:
    """``train_input_reader``, ``eval_input_reader`` (``[0]`` when there are several)."""
    several = role == "eval" and len(config.root.all("eval_input_reader")) > 1
    return f"{role}_input_reader" + ("[0]" if several else "")


def _input_findings(config: PipelineConfig, role: str, entry: Value, found: Resolved,
                    some_found: bool) -> list[Finding]:
    written = entry.value
    if found.base is None:
        severity = Severity.DATA_LOSS if some_found else Severity.ERROR
        effect = ("training drops it without a word (another input_path matches)" if some_found
                  else "training stops: no input_path of this reader matches a file")
        hint = None
        if written.startswith("~"):
            hint = "TensorFlow does not expand ~: write the full path"
        return [config.finding(
            C.INPUT_MATCHES_NOTHING, f"{role} input_path {written!r} matches no file: {effect}",
            entry.pos, hint, severity=severity,
            tensorflow=f"RuntimeError: Did not find any input files matching the glob pattern "
                       f"['{written}']")]
    findings = []
    if found.base == "config":
        findings.append(_relative_finding(config, found, entry.pos, "input_path"))
    folders = [m for m in found.matches if os.path.isdir(m)]
    if folders:
        findings.append(config.finding(
            C.INPUT_IS_DIRECTORY, f"{role} input_path {written!r} names a folder: TensorFlow "
            "reads it as a file and fails", entry.pos,
            f"name the files instead: {os.path.join(written, '*.tfrecord')}",
            tensorflow=f"FailedPreconditionError: {folders[0]}; Is a directory"))
    return findings


def _relative_finding(config: PipelineConfig, found: Resolved, pos, what: str) -> Finding:
    return config.finding(
        C.RELATIVE_TO_CONFIG, f"{what} {found.written!r} matches nothing from the working "
        f"directory ({os.getcwd()}), only from the config's folder ({config.folder}); training "
        "resolves it from the folder it is started in", pos,
        f"start training from {config.folder}, or write {found.shown!r} as an absolute path",
        resolved=found.shown)


def _overlap_findings(config: PipelineConfig, files: dict[str, list[str]]) -> list[Finding]:
    train = {os.path.realpath(p) for p in files.get("train", [])}
    shared = [p for p in files.get("eval", []) if os.path.realpath(p) in train]
    reader = config.eval_reader
    if not shared or reader is None:
        return []
    records = reader.node("tf_record_input_reader")
    pos = records.where("input_path") if records else reader.pos
    shown = ", ".join(shared[:3]) + (f" and {len(shared) - 3} more" if len(shared) > 3 else "")
    return [config.finding(
        C.TRAIN_EVAL_OVERLAP, f"eval reads {len(shared)} of the train record files ({shown}): "
        "the metrics measure the training data", pos, files=shared)]


# -- context and facts -------------------------------------------------------------------------


def _context(config: PipelineConfig, base: CheckContext,
             tables: dict[str, LabelTable | None]) -> CheckContext:
    readers = config.readers()
    ctx = replace(base, num_classes=config.num_classes or None, batching=_batching(config),
                  sample_boxes=True)
    for role, reader in readers.items():
        ctx = ctx.with_reader(
            role, label_map=tables.get(role), label_map_in_reader=bool(
                reader.get("label_map_path")),
            max_boxes=reader.get("max_number_of_boxes"), flags=_flags(reader))
    main = ctx.for_role("train") if "train" in readers else ctx
    return replace(main, by_role=ctx.by_role, batching=ctx.batching)


def _flags(reader: Node) -> InputFlags:
    values: dict[str, Any] = {name: reader.get(name) for name in _FLAG_FIELDS}
    if values["mask_type"] == "DEFAULT":
        values["mask_type"] = "NUMERICAL_MASKS"
    return InputFlags(**values)


def _batching(config: PipelineConfig) -> dict[str, Batching]:
    result = {}
    for role, reader in config.readers().items():
        owner = config.train_config if role == "train" else config.eval_config
        if owner is None:
            continue
        pos = owner.value_pos("batch_size") if owner.has("batch_size") else owner.pos
        result[role] = Batching(
            batch_size=owner.get("batch_size"), num_epochs=reader.get("num_epochs"),
            drop_remainder=reader.get("drop_remainder"),
            sample_1_of_n=max(1, reader.get("sample_1_of_n_examples")),
            location=Location(file=config.path, line=pos.line, column=pos.column),
            source_line=config.text.parsed.line_text(pos.line),
        )
    return result


def _facts(check: ConfigCheck, files: dict[str, list[str]]) -> dict[str, Any]:
    config = check.config
    readers = {}
    for role, reader in config.readers().items():
        records = reader.node("tf_record_input_reader")
        readers[role] = {
            "input_path": records.all("input_path") if records else [],
            "files": files.get(role, []),
            "label_map_path": reader.get("label_map_path"),
            "max_number_of_boxes": reader.get("max_number_of_boxes"),
            "sample_1_of_n_examples": reader.get("sample_1_of_n_examples"),
            "num_epochs": reader.get("num_epochs"),
        }
    train = config.train_config
    return {
        "path": config.path,
        "arch": config.arch,
        "num_classes": config.num_classes,
        "label_maps": {path: len(lm.items) for path, lm in check.label_maps.items()},
        "fine_tune_checkpoint": train.get("fine_tune_checkpoint") if train else None,
        "readers": readers,
    }
