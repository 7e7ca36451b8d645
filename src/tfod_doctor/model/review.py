"""The model layer's findings on a config, before and after the record scan (A001-A010).

:func:`review_model` is the one call :mod:`tfod_doctor.checkup` makes: it adds the findings the
config alone shows to the plan, the model's description to ``stats["model"]`` (a dict other
parts of the model layer add their keys to), and a step that runs after the scan and judges
the model against what the records hold (``stats["schema"]``, ``stats["splits"]``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from tfod_doctor.catalogue import model as A
from tfod_doctor.config.label_map import LabelMap, LabelMapUnreadable, read_label_map
from tfod_doctor.config.pipeline import PLACEHOLDER, PipelineConfig
from tfod_doctor.config.textproto import Pos
from tfod_doctor.config.validate import Node
from tfod_doctor.engine import Plan
from tfod_doctor.findings import Finding
from tfod_doctor.model import extractors
from tfod_doctor.model.architecture import ModelDescription, describe
from tfod_doctor.model.training import Training, training, training_findings
from tfod_doctor.odapi import features as K
from tfod_doctor.records.sources import is_url

#: A009 speaks up when training reads each record at least this many times, or less than once.
MANY_EPOCHS = 10_000
_GENERATION_NAMES = {1: "TF1", 2: "TF2"}
#: What each kind of head says when its ground truth was never decoded.
_MISSING_TRUTH = {
    "mask_rcnn_box_predictor": "ValueError: Groundtruth instance masks not provided. Please "
                               "configure input reader.",
    "masks": "RuntimeError: Groundtruth tensor masks has not been provided",
    "keypoints": "RuntimeError: Groundtruth tensor keypoints has not been provided",
    "densepose": "RuntimeError: Groundtruth tensor densepose_num_points has not been provided",
}


@dataclass
class ModelReview:
    """A config's model and train loop, and the findings about them."""

    config: PipelineConfig
    model: ModelDescription
    run: Training | None

    def findings(self) -> list[Finding]:
        """What the config and the files it names show: the extractor (A001), the keypoint
        label map (A003), steps and schedule (A005-A008)."""
        return [*_extractor_findings(self.config, self.model),
                *_keypoint_map_findings(self.config, self.model),
                *training_findings(self.config, self.run)]

    def stats(self) -> dict[str, Any]:
        """``stats["model"]``: the model's description and the train loop's settings."""
        out = self.model.to_dict()
        if self.run is not None:
            out["training"] = self.run.to_dict()
        return out

    def after_scan(self, stats: dict[str, Any], states: dict[str, Any]) -> list[Finding]:
        """What needs the records too: ground truth the heads need (A002-A004), epochs and
        batch size against the train split (A009, A010). Adds the epochs to ``stats``."""
        records = _Records(stats)
        findings = []
        for need in self.model.needs:
            findings += _truth_findings(self.config, self.model, need, records)
        findings += _mask_type_findings(self.config, records)
        findings += _split_findings(self.config, self.run, records, stats)
        return findings


def review_model(config: PipelineConfig, plan: Plan, generation: int | None = None) -> None:
    """Add the model layer's findings, stats and after-scan step to ``plan``."""
    review = ModelReview(config, describe(config, generation), training(config))
    plan.findings.extend(review.findings())
    plan.stats.setdefault("model", {}).update(review.stats())
    plan.after_scan.append(review.after_scan)


class _Records:
    """What the record scan's stats say about keys and splits."""

    def __init__(self, stats: dict[str, Any]) -> None:
        self.schema: dict[str, Any] = stats.get("schema") or {}
        self.splits: dict[str, int] = stats.get("splits") or {}
        self.total: int = (stats.get("totals") or {}).get("records", 0)

    def having(self, key: str) -> int:
        """How many records carry ``key``."""
        return (self.schema.get(key) or {}).get("records", 0)

    def kinds(self, key: str) -> dict[str, int]:
        """How many records hold ``key`` as each kind (``bytes_list``, ``float_list``...)."""
        return dict((self.schema.get(key) or {}).get("kinds", {}))


# -- A001 ------------------------------------------------------------------------------------


def _extractor_findings(config: PipelineConfig, model: ModelDescription) -> list[Finding]:
    if model.supported is not False or model.extractor is None:
        return []
    name, arch, gen = model.extractor, model.meta_arch or "", model.generation
    if not name:
        return [config.finding(
            A.EXTRACTOR_OTHER_GENERATION, f"{arch}.feature_extractor names no type: the model "
            "builder has no extractor to build", model.extractor_pos,
            f"set feature_extractor {{ type: ... }}, one of: "
            f"{', '.join(sorted(extractors.TABLES[gen].get(arch, ())))}",
            tensorflow=_builder_message(arch, name, gen), extractor="", tf_generation=gen)]
    other = 3 - gen
    this, that = _GENERATION_NAMES[gen], _GENERATION_NAMES[other]
    if arch == "center_net" and gen == 1:
        what = "a CenterNet feature extractor, and CenterNet exists in TF2 only"
    elif extractors.known(arch, name, other):
        what = f"a {that} {arch} feature extractor: the {this} model builder does not have it"
    else:
        what = f"not a {arch} feature extractor the {this} model builder knows"
    if model.replacement and model.exact_replacement:
        hint = (f"use type: '{model.replacement}' (the same network in {this}), best with the "
                f"{this} model zoo's config and checkpoint for it")
    elif model.replacement:
        hint = (f"{this} has no port of it; the nearest {this} extractor is "
                f"'{model.replacement}' (start from its {this} model-zoo config and checkpoint)")
    else:
        hint = f"use one of: {', '.join(sorted(extractors.TABLES[gen].get(arch, ())))}"
    return [config.finding(
        A.EXTRACTOR_OTHER_GENERATION, f"feature_extractor type '{name}' is {what}",
        model.extractor_pos, hint, tensorflow=_builder_message(arch, name, gen),
        extractor=name, tf_generation=gen, replacement=model.replacement)]


def _builder_message(arch: str, name: str, generation: int) -> str:
    """What ``model_builder.build`` raises for ``name`` under TF ``generation``."""
    if not extractors.in_any_map(name, generation):
        return (f"ValueError: {name} is not supported for tf version {generation}. See "
                "`model_builder.py` for features extractors compatible with different versions "
                "of Tensorflow")
    if arch == "faster_rcnn":
        return f"ValueError: Unknown Faster R-CNN feature_extractor: {name}"
    if arch == "center_net":
        return f"ValueError: '{name}' is not a known CenterNet feature extractor type"
    return f"KeyError: '{name}'" if generation == 2 else (
        f"ValueError: Unknown ssd feature_extractor: {name}")


# -- A002, A003 ------------------------------------------------------------------------------

#: need -> (reader setting that decodes it, its description, record key that holds it)
_DECODED_BY = {
    "masks": ("load_instance_masks", "load_instance_masks: true", K.MASK),
    "keypoints": ("num_keypoints", "num_keypoints: N", K.KEYPOINT_X),
    "densepose": ("load_dense_pose", "load_dense_pose: true", K.DENSEPOSE_NUM),
}


def _truth_findings(config: PipelineConfig, model: ModelDescription, need: str,
                    records: _Records) -> list[Finding]:
    head = model.heads_needing(need)[0]
    rule = A.MASKS_NOT_GIVEN if need == "masks" else A.KEYPOINTS_NOT_GIVEN
    setting, shown, key = _DECODED_BY[need]
    findings = []
    have = records.having(key)
    evidence = (f"{have} of {records.total} records carry {key}" if records.total else
                "no records were read")
    unset = [role for role, reader in config.readers().items() if not reader.get(setting)]
    tensorflow = _MISSING_TRUTH.get(head.name, _MISSING_TRUTH[need])
    if unset:
        readers = " and ".join(f"{role}_input_reader" for role in unset)
        hint = f"set {_setting_line(need, records)} in {readers}"
        if records.total and not have:
            hint += f", and write {key} into the records"
        findings.append(config.finding(
            rule, f"{head.name} learns {need}, but {readers} "
            f"{'does' if len(unset) == 1 else 'do'} not set {shown}: the {need} "
            f"are never decoded and training stops ({evidence})", head.pos, hint,
            tensorflow=tensorflow, readers=unset, records_with_key=have))
    elif records.total and not have:
        findings.append(config.finding(
            rule, f"{head.name} learns {need}, but none of the {records.total} records carries "
            f"{key}: there is nothing to learn them from", head.pos,
            f"write {key} into the records, or remove {head.field} to train boxes only",
            tensorflow="InvalidArgumentError: indices[0] = 0 is not in [0, 0)",
            records_with_key=0))
    return findings


def _setting_line(need: str, records: _Records) -> str:
    if need == "masks":
        return "load_instance_masks: true" + (
            " and mask_type: PNG_MASKS" if _stored_mask_type(records) == "PNG_MASKS" else "")
    if need == "keypoints":
        return "num_keypoints: N (the keypoints per box)"
    return "load_dense_pose: true"


def _keypoint_map_findings(config: PipelineConfig, model: ModelDescription) -> list[Finding]:
    """The keypoint label map as ``model_builder`` reads it: each task's keypoint_class_name
    must be an item with keypoints, and the readers' num_keypoints must cover their ids."""
    node, heads = config.arch_node, model.heads_needing("keypoints")
    if not heads or node is None:
        return []
    written = node.get("keypoint_label_map_path")
    if not written:
        return [config.finding(
            A.KEYPOINTS_NOT_GIVEN, f"{heads[0].name} needs keypoint_label_map_path: the model "
            "builder reads the task's keypoints (names and ids) from it, and none is set",
            heads[0].pos, 'set keypoint_label_map_path: "keypoint_label_map.pbtxt" (an item '
            "with keypoints { id: ... label: ... } for the task's keypoint_class_name)")]
    if PLACEHOLDER in written or is_url(written):  # a placeholder is C026's
        return []
    pos = node.value_pos("keypoint_label_map_path")
    label_map, problem = _read_keypoint_map(config, written)
    if label_map is None:
        return [config.finding(
            A.KEYPOINTS_NOT_GIVEN, f"keypoint_label_map_path {written!r} {problem}: the model "
            "builder reads the keypoint tasks from it", pos,
            tensorflow=f"NotFoundError: {written}; No such file or directory")]
    with_points = {item.name: item for item in label_map.items if item.keypoints}
    findings = []
    for task in node.entries("keypoint_estimation_task"):
        if not isinstance(task, Node):
            continue
        wanted = task.get("keypoint_class_name")
        item = with_points.get(wanted)
        if item is None:
            findings.append(config.finding(
                A.KEYPOINTS_NOT_GIVEN, f"keypoint_class_name {wanted!r} is not an item with "
                f"keypoints in {written}", _value_pos(task, "keypoint_class_name"),
                f"name one of: {', '.join(sorted(with_points)) or '(no item lists keypoints)'}",
                tensorflow=f"KeyError: '{wanted}'"))
            continue
        findings += _num_keypoints_findings(config, item.name,
                                            max(kp.id for kp in item.keypoints))
    return findings


def _read_keypoint_map(config: PipelineConfig, written: str) -> tuple[LabelMap | None, str]:
    """The keypoint label map, found from the working directory (as training does) or the
    config's folder; else ``None`` and why."""
    for base in (os.getcwd(), str(config.folder)):
        path = os.path.join(base, written)
        if os.path.isfile(path):
            try:
                return read_label_map(path)[0], ""
            except LabelMapUnreadable as exc:
                return None, f"cannot be read ({exc.reason})"
    return None, "does not exist"


def _num_keypoints_findings(config: PipelineConfig, name: str, top: int) -> list[Finding]:
    findings = []
    for role, reader in config.readers().items():
        count = reader.get("num_keypoints")
        if count and top >= count:
            findings.append(config.finding(
                A.KEYPOINTS_NOT_GIVEN, f"{role}_input_reader has num_keypoints: {count}, but "
                f"item {name!r} of the keypoint label map uses keypoint id {top}: the model "
                "gathers keypoints the records cannot have", reader.value_pos("num_keypoints"),
                f"set num_keypoints: {top + 1} (and write that many keypoints per box)"))
    return findings


# -- A004 ------------------------------------------------------------------------------------


def _stored_mask_type(records: _Records) -> str | None:
    kinds = records.kinds(K.MASK)
    png, numbers = kinds.get("bytes_list", 0), kinds.get("float_list", 0)
    if not png and not numbers:
        return None
    return "PNG_MASKS" if png >= numbers else "NUMERICAL_MASKS"


def _mask_type_findings(config: PipelineConfig, records: _Records) -> list[Finding]:
    stored = _stored_mask_type(records)
    if stored is None:
        return []
    kinds = records.kinds(K.MASK)
    findings = []
    for role, reader in config.readers().items():
        if not reader.get("load_instance_masks"):
            continue
        written = reader.get("mask_type")
        effective = "NUMERICAL_MASKS" if written in ("DEFAULT", "NUMERICAL_MASKS") else written
        if effective == stored:
            continue
        held = "PNG strings (bytes)" if stored == "PNG_MASKS" else "float lists"
        findings.append(config.finding(
            A.MASK_TYPE_MISMATCH, f"{role}_input_reader reads image/object/mask as "
            f"{effective}{'' if reader.has('mask_type') else ' (the default)'}, but the records "
            f"hold {held}: parsing stops", _mask_type_pos(reader),
            f"set mask_type: {stored} in {role}_input_reader",
            tensorflow=A.MASK_TYPE_MISMATCH.tf_message, mask_type=effective, stored=stored,
            kinds=kinds))
    return findings


def _mask_type_pos(reader: Node) -> Pos:
    if reader.has("mask_type"):
        return reader.value_pos("mask_type")
    return reader.where("load_instance_masks")


# -- A009, A010 ------------------------------------------------------------------------------


def _split_findings(config: PipelineConfig, run: Training | None, records: _Records,
                    stats: dict[str, Any]) -> list[Finding]:
    reader = config.train_reader
    train = records.splits.get("train", 0)
    if run is None or reader is None or not train or run.batch_size <= 0:
        return []
    read = -(-train // max(1, reader.get("sample_1_of_n_examples")))
    findings = []
    if run.num_steps > 0:
        epochs = run.num_steps * run.batch_size / read
        model_stats = stats.get("model")
        if isinstance(model_stats, dict) and "training" in model_stats:
            model_stats["training"]["epochs"] = round(epochs, 2)
            model_stats["training"]["train_records"] = read
        if epochs >= MANY_EPOCHS or epochs < 1:
            findings.append(config.finding(
                A.EPOCHS, f"training reads each of the {read} train records about "
                f"{epochs:,.0f} times (num_steps {run.num_steps:,} x batch_size "
                f"{run.batch_size} = {run.num_steps * run.batch_size:,} images)"
                if epochs >= 1 else f"training sees {epochs:.0%} of the {read} train records "
                f"once (num_steps {run.num_steps:,} x batch_size {run.batch_size})",
                _value_pos(run.node, "num_steps"), epochs=round(epochs, 2), records=read,
                num_steps=run.num_steps, batch_size=run.batch_size))
    if run.batch_size > read and reader.get("num_epochs") == 0:
        findings.append(config.finding(
            A.BATCH_ABOVE_SPLIT, f"batch_size is {run.batch_size} but the train split holds "
            f"{read} records: every batch repeats images", _value_pos(run.node, "batch_size"),
            f"use batch_size: {read} or less", batch_size=run.batch_size, records=read))
    return findings


def _value_pos(node: Node, name: str) -> Pos:
    return node.value_pos(name) if node.has(name) else node.pos
