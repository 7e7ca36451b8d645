"""pipeline.config: read it with line and column, and check what the config alone can tell.

    >>> config, findings = read_pipeline("pipeline.config")
    >>> config.arch, config.num_classes, config.train_reader

Cross-checks that need the file system or the records (paths, label map, record counts) live in
:mod:`tfod_doctor.checkup`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from tfod_doctor.catalogue import config as C
from tfod_doctor.config import witness
from tfod_doctor.config.feature_map import FeatureMapIntent, explain_fixed_keys, feature_map_intent
from tfod_doctor.config.places import TextFile
from tfod_doctor.config.schema import PIPELINE
from tfod_doctor.config.textproto import Pos, parse_text
from tfod_doctor.config.validate import Node, Problem, Value, validate
from tfod_doctor.errors import UserError
from tfod_doctor.findings import Finding, Severity
from tfod_doctor.records.inputs import read_input_text

ARCHITECTURES = ("ssd", "faster_rcnn", "center_net")
#: ``eval_config.metrics_set`` names ``eval_util.py`` knows.
METRICS = (
    "coco_detection_metrics", "coco_keypoint_metrics", "coco_mask_metrics",
    "coco_panoptic_metrics", "lvis_mask_metrics", "oid_V2_detection_metrics",
    "oid_challenge_detection_metrics", "oid_challenge_segmentation_metrics",
    "pascal_voc_detection_metrics", "pascal_voc_instance_segmentation_metrics",
    "precision_at_recall_detection_metrics", "weighted_pascal_voc_detection_metrics",
    "weighted_pascal_voc_instance_segmentation_metrics",
)
CHECKPOINT_TYPES = ("classification", "detection", "full")
#: Metric names older OD API releases had, and the name ``eval_util.py`` has for them now.
RENAMED_METRICS = {
    "open_images_V2_detection_metrics": "oid_V2_detection_metrics",
    "oid_challenge_object_detection_metrics": "oid_challenge_detection_metrics",
}
PLACEHOLDER = "PATH_TO_BE_CONFIGURED"
_PROBLEM_RULES = {
    "syntax": C.SYNTAX_ERROR,
    "unknown-field": C.UNKNOWN_FIELD,
    "bad-enum": C.BAD_ENUM,
    "wrong-type": C.WRONG_TYPE,
    "duplicate": C.FIELD_TWICE,
    "oneof": C.ONEOF_CONFLICT,
    "deprecated": C.IGNORED_BY_TF2,
}
_PARSE_KINDS = ("syntax", "unknown-field", "bad-enum", "wrong-type")


@dataclass
class PipelineConfig:
    """A parsed pipeline.config with Merge's semantics, every value with its place."""

    path: str
    text: TextFile
    root: Node

    @property
    def folder(self) -> Path:
        """The folder the config is in."""
        return Path(self.path).resolve().parent

    @property
    def model(self) -> Node | None:
        """The ``model { }`` block."""
        return self.root.node("model")

    @property
    def arch(self) -> str | None:
        """The meta-architecture that is set: ``ssd``, ``faster_rcnn``, ``center_net``..."""
        return self.model.which("model") if self.model else None

    @property
    def arch_node(self) -> Node | None:
        """The block of the meta-architecture."""
        return self.model.node(self.arch) if self.model and self.arch else None

    @property
    def num_classes(self) -> int | None:
        """num_classes of the meta-architecture (``None`` when it has none)."""
        if self.arch not in ARCHITECTURES or self.arch_node is None:
            return None
        return self.arch_node.get("num_classes")

    @property
    def train_config(self) -> Node | None:
        """The ``train_config { }`` block."""
        return self.root.node("train_config")

    @property
    def eval_config(self) -> Node | None:
        """The ``eval_config { }`` block."""
        return self.root.node("eval_config")

    @property
    def train_reader(self) -> Node | None:
        """``train_input_reader``."""
        return self.root.node("train_input_reader")

    @property
    def eval_reader(self) -> Node | None:
        """The first ``eval_input_reader`` (the only one TF2 reads)."""
        readers = self.root.all("eval_input_reader")
        return readers[0] if readers else None

    def readers(self) -> dict[str, Node]:
        """The readers training uses, by split."""
        found = {"train": self.train_reader, "eval": self.eval_reader}
        return {role: node for role, node in found.items() if node is not None}

    def feature_map_intent(self, split: str | None = None) -> FeatureMapIntent:
        """What an invented ``input_features { feature_map {...} }`` block (or any mapping of
        record keys in an input reader) says the records hold: record key -> OD API key.
        ``split`` (``train``/``eval``) limits it to one reader. Empty when there is none."""
        intent = feature_map_intent(self.text.parsed)
        return intent if split is None else intent.for_split(split)

    def finding(self, rule, message: str, pos: Pos | None, hint: str | None = None,
                severity: Severity | None = None, **evidence) -> Finding:
        """A finding placed in this config."""
        return self.text.finding(rule, message, pos, hint, severity, **evidence)


def parse_pipeline(text: str, name: str) -> tuple[PipelineConfig, list[Finding]]:
    """Parse pipeline.config text and check what the text alone tells."""
    parsed = parse_text(text)
    root, problems = validate(parsed, PIPELINE)
    config = PipelineConfig(name, TextFile(name, parsed), root)
    findings = [_problem_finding(config, p) for p in problems if not _handled_elsewhere(p)]
    findings = explain_fixed_keys(parsed, findings)
    findings += _witness(config, text, problems, findings)
    findings += config_findings(config)
    return config, findings


def read_pipeline(path: str | Path) -> tuple[PipelineConfig, list[Finding]]:
    """Read and check a pipeline.config file; an unreadable file is a :class:`UserError`."""
    try:
        text = read_input_text(path)
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_pipeline(text, str(path))


def _handled_elsewhere(problem: Problem) -> bool:
    # train_config.max_number_of_boxes and from_detection_checkpoint get their own, more
    # precise messages.
    return problem.kind == "deprecated" and problem.evidence.get("message_type") == (
        "TrainConfig") and problem.evidence.get("field") in (
        "max_number_of_boxes", "from_detection_checkpoint")


def _problem_finding(config: PipelineConfig, problem: Problem) -> Finding:
    rule = _PROBLEM_RULES[problem.kind]
    message = problem.message
    if problem.kind == "deprecated":
        message = (f"{problem.evidence['message_type']}.{problem.evidence['field']} is "
                   "deprecated: TF2 training does not read it")
    return config.finding(rule, message, problem.pos, problem.hint or None,
                          tensorflow=problem.tensorflow, **problem.evidence)


def _witness(config: PipelineConfig, text: str, problems: list[Problem],
             findings: list[Finding]) -> list[Finding]:
    """Parse with the installed OD API too; attach its message, or report what only it refuses."""
    api = witness.installed_api()
    if api is None:
        return []
    error = witness.merge_error(api.pipeline, text)
    if error is None:
        return []
    for finding in findings:
        if finding.location.line == error.line and finding.rule in {
            _PROBLEM_RULES[k].id for k in _PARSE_KINDS
        }:
            finding.evidence["installed_od_api"] = error.message
            return []
    pos = Pos(error.line or 1, error.column or 1)
    known = not any(p.kind in _PARSE_KINDS and p.pos.line == error.line for p in problems)
    hint = None
    if known:
        hint = (f"the OD API at {api.origin} is older than this config: upgrade it (reinstall "
                "models/research/object_detection and recompile its protos) or remove the field "
                "if your install is meant to be TF1")
    return [config.finding(C.INSTALLED_API_REJECTS,
                           f"the installed OD API cannot read this config: {error.message}", pos,
                           hint, tensorflow=error.message, installed_od_api=api.origin)]


def config_findings(config: PipelineConfig) -> list[Finding]:
    """Everything the config alone shows: model, training, evaluation and reader settings."""
    findings = _model_findings(config)
    findings += _train_findings(config)
    findings += _eval_findings(config)
    for role, reader in config.readers().items():
        findings += _reader_findings(config, role, reader)
    for extra in config.root.entries("eval_input_reader")[1:]:
        findings.append(config.finding(
            C.IGNORED_BY_TF2, "TF2 evaluates the first eval_input_reader only; this one is never "
            "read", extra.pos, "move the records you want evaluated into the first "
            "eval_input_reader"))
    return findings


def _model_findings(config: PipelineConfig) -> list[Finding]:
    if config.model is None:
        return [config.finding(C.REFUSED_BY_TRAINING, "pipeline.config has no model { } block",
                               Pos(1, 1), "start from a model-zoo config of your architecture")]
    arch, node = config.arch, config.arch_node
    if arch is None or node is None:
        return [config.finding(C.REFUSED_BY_TRAINING, "model { } names no meta-architecture "
                               "(ssd, faster_rcnn or center_net)", config.model.pos)]
    findings = []
    if arch not in ARCHITECTURES:
        findings.append(config.finding(
            C.NUM_CLASSES_MISSING, f"{arch} has no num_classes: training cannot check classes "
            f"(`{arch} does not have num_classes.`)", config.model.where(arch)))
    elif config.num_classes is None or config.num_classes <= 0:
        where = node.value_pos("num_classes") if node.has("num_classes") else node.pos
        findings.append(config.finding(
            C.NUM_CLASSES_MISSING, f"{arch}.num_classes is {config.num_classes or 0}: set it "
            "to the number of classes in the label map", where))
    if arch == "center_net":
        findings += _placeholders(config, node, "keypoint_label_map_path", "center_net")
    resizer = node.node("image_resizer")
    if resizer is not None and resizer.has("pad_to_multiple_resizer"):
        findings.append(config.finding(
            C.REFUSED_BY_TRAINING, "pad_to_multiple_resizer is not supported by TF2 training's "
            "input pipeline (`ValueError: Unknown image resizer type.`)",
            resizer.where("pad_to_multiple_resizer"),
            "use keep_aspect_ratio_resizer or fixed_shape_resizer",
            tensorflow="ValueError: Unknown image resizer type."))
    return findings


def _train_findings(config: PipelineConfig) -> list[Finding]:
    train = config.train_config
    if train is None:
        return [config.finding(C.REFUSED_BY_TRAINING, "pipeline.config has no train_config { }",
                               Pos(1, 1), "add train_config { batch_size: ... } with an "
                               "optimizer (copy it from a model-zoo config)")]
    findings = []
    if train.get("load_all_detection_checkpoint_vars"):
        findings.append(config.finding(
            C.REFUSED_BY_TRAINING, "load_all_detection_checkpoint_vars: true is not supported in "
            "TF2", train.where("load_all_detection_checkpoint_vars"),
            "delete the line (TF2 restores by fine_tune_checkpoint_type)",
            tensorflow=C.REFUSED_BY_TRAINING.tf_message))
    if train.get("use_bfloat16"):
        findings.append(config.finding(
            C.BFLOAT16, "use_bfloat16: true takes effect on a TPU only: TF2 training turns it "
            "off on a GPU or CPU and trains in float32", train.where("use_bfloat16")))
    if train.has("from_detection_checkpoint"):
        findings.append(_from_detection_checkpoint(config, train))
    findings += _checkpoint_settings(config, train)
    if train.has("max_number_of_boxes"):
        findings.append(_train_max_boxes(config, train))
    return findings


def _checkpoint_settings(config: PipelineConfig, train: Node) -> list[Finding]:
    """Checkpoint version and type; the checkpoint files are checked with the file system."""
    if not train.get("fine_tune_checkpoint"):
        return []
    findings = []
    version = train.get("fine_tune_checkpoint_version")
    if version != "V2":
        written = train.has("fine_tune_checkpoint_version")
        findings.append(config.finding(
            C.CHECKPOINT_VERSION,
            f"fine_tune_checkpoint_version is {version}" + ("" if written else " (the default)")
            + ": TF2 training only loads V2 checkpoints",
            train.value_pos("fine_tune_checkpoint_version") if written
            else train.where("fine_tune_checkpoint"),
            tensorflow=C.CHECKPOINT_VERSION.tf_message))
    kind = train.get("fine_tune_checkpoint_type")
    allowed = CHECKPOINT_TYPES
    if kind and kind not in allowed:
        findings.append(config.finding(
            C.CHECKPOINT_TYPE, f"fine_tune_checkpoint_type {kind!r} is not one of "
            f"{', '.join(allowed)}", train.value_pos("fine_tune_checkpoint_type"),
            'use "detection" for a model-zoo checkpoint, "classification" for a backbone',
            tensorflow=f"ValueError: Not supported fine_tune_checkpoint_type: {kind}"))
    return findings


def _from_detection_checkpoint(config: PipelineConfig, train: Node) -> Finding:
    """The deprecated from_detection_checkpoint: TF2 still reads it while
    fine_tune_checkpoint_type is unset (``config_util.update_fine_tune_checkpoint_type``)."""
    pos = train.where("from_detection_checkpoint")
    kind = train.get("fine_tune_checkpoint_type")
    if kind:
        return config.finding(
            C.IGNORED_BY_TF2, "from_detection_checkpoint is deprecated and ignored: "
            f"fine_tune_checkpoint_type ({kind!r}) decides what is restored", pos,
            "delete the from_detection_checkpoint line")
    if not train.get("from_detection_checkpoint"):
        return config.finding(
            C.IGNORED_BY_TF2, "from_detection_checkpoint: false is deprecated; with "
            "fine_tune_checkpoint_type unset TF2 restores as classification either way", pos,
            "delete the line, or write fine_tune_checkpoint_type: \"classification\"")
    return config.finding(
        C.IGNORED_BY_TF2, "from_detection_checkpoint is deprecated, but TF2 still reads it while "
        "fine_tune_checkpoint_type is unset: it makes the restore \"detection\" (deleting the "
        "line alone would switch it to classification)", pos,
        'replace it with fine_tune_checkpoint_type: "detection"')


def _train_max_boxes(config: PipelineConfig, train: Node) -> Finding:
    value = train.get("max_number_of_boxes")
    readers = config.readers()
    effective = {role: reader.get("max_number_of_boxes") for role, reader in readers.items()}
    differs = {role: n for role, n in effective.items() if n != value}
    pos = train.where("max_number_of_boxes")
    if differs:
        kept = ", ".join(f"{role} reader keeps {n}" for role, n in differs.items())
        return config.finding(
            C.IGNORED_BY_TF2, f"train_config.max_number_of_boxes: {value} is ignored by TF2 "
            f"({kept} boxes per image; the rest are dropped without a word)", pos,
            f"set max_number_of_boxes: {value} in train_input_reader and eval_input_reader",
            severity=Severity.WARNING, value=value, readers=effective)
    return config.finding(
        C.IGNORED_BY_TF2, "train_config.max_number_of_boxes is ignored by TF2; the input readers' "
        f"max_number_of_boxes ({value}) is what counts", pos,
        "set it in the input readers (it already has the same value there)", readers=effective)


def _eval_findings(config: PipelineConfig) -> list[Finding]:
    node = config.eval_config
    if node is None:
        return []
    findings = []
    for entry in node.entries("metrics_set"):
        name = entry.value
        if name not in METRICS:
            findings.append(config.finding(
                C.UNKNOWN_METRIC, f"metrics_set {name!r} is not a metric the OD API has",
                entry.pos, f"use one of {', '.join(METRICS)}; did you mean "
                f"{suggest_metric(name)}?", tensorflow=f"ValueError: Metric not found: {name}"))
    return findings


def suggest_metric(name: str) -> str:
    """The metric a misspelt or renamed ``metrics_set`` most likely means: the renamed Open
    Images names, an Open Images metric for any ``oid``/``open_images`` name, else the closest
    spelling (``coco_detection_metrics`` when nothing is close)."""
    if name in RENAMED_METRICS:
        return RENAMED_METRICS[name]
    lowered = name.lower()
    if "oid" in lowered or "open_image" in lowered or "openimage" in lowered:
        if "segment" in lowered or "mask" in lowered:
            return "oid_challenge_segmentation_metrics"
        return ("oid_challenge_detection_metrics" if "challenge" in lowered
                else "oid_V2_detection_metrics")
    close = difflib.get_close_matches(name, METRICS, n=1, cutoff=0.5)
    return close[0] if close else METRICS[0]


def _reader_findings(config: PipelineConfig, role: str, reader: Node) -> list[Finding]:
    name = f"{role}_input_reader"
    findings = []
    sample = reader.get("sample_1_of_n_examples")
    if sample > 1:
        findings.append(config.finding(
            C.SAMPLED_INPUT, f"{name} reads only every {sample}th record "
            f"(sample_1_of_n_examples: {sample})", reader.value_pos("sample_1_of_n_examples"),
            sample_1_of_n=sample))
    if reader.which("input_reader") is None:
        findings.append(config.finding(
            C.REFUSED_BY_TRAINING, f"{name} has no tf_record_input_reader {{ input_path: ... }}",
            reader.pos, tensorflow="ValueError: Unsupported input_reader_config."))
    else:
        records = reader.node("tf_record_input_reader")
        if records is not None and not records.all("input_path"):
            findings.append(config.finding(
                C.REFUSED_BY_TRAINING, f"{name} names no input_path", records.pos,
                'add input_path: "data/train-*.tfrecord"',
                tensorflow="ValueError: At least one input path must be specified in "
                           "`input_reader_config`."))
    if reader.get("expand_labels_hierarchy") and not reader.get("label_map_path"):
        findings.append(config.finding(
            C.REFUSED_BY_TRAINING, f"{name} sets expand_labels_hierarchy without label_map_path",
            reader.where("expand_labels_hierarchy"),
            tensorflow="ValueError: In order to expand labels, the label_map_proto_file has to "
                       "be provided."))
    if reader.get("load_context_features") and not _has_context_config(config):
        findings.append(config.finding(
            C.REFUSED_BY_TRAINING, f"{name} sets load_context_features, but the model has no "
            "faster_rcnn context_config (max_num_context_features)",
            reader.where("load_context_features"),
            tensorflow="ValueError: max_num_context_features must be specified in the model "
                       "config if include_context is specified in the input config"))
    if role == "eval" and not reader.get("label_map_path"):
        findings.append(config.finding(
            C.EVAL_WITHOUT_LABEL_MAP, "eval_input_reader has no label_map_path: TF2 evaluation "
            "reads its class names from it", reader.pos,
            tensorflow=C.EVAL_WITHOUT_LABEL_MAP.tf_message))
    findings += _placeholders(config, reader, "label_map_path", name)
    return findings


def _placeholders(config: PipelineConfig, node: Node, field: str, owner: str) -> list[Finding]:
    """C026 for each value of ``field`` that still holds the model zoo's placeholder."""
    return [config.finding(C.PLACEHOLDER_PATH, f"{owner}.{field} is still the placeholder "
                           f"{entry.value!r}", entry.pos)
            for entry in node.entries(field)
            if isinstance(entry, Value) and PLACEHOLDER in entry.value]


def _has_context_config(config: PipelineConfig) -> bool:
    node = config.arch_node
    return config.arch == "faster_rcnn" and node is not None and node.has("context_config")
