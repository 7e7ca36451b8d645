"""What ``fine_tune_checkpoint`` is, and whether this config restores from it.

TF2 training (``model_lib_v2.load_fine_tune_checkpoint``) first refuses a checkpoint that is not
object-based ("Checkpoint is expected to be an object-based checkpoint"), then asks the model for
the objects to restore (``restore_from_objects(fine_tune_checkpoint_type)``) and restores them
with ``assert_existing_objects_matched``:

* ``classification``: ``{"feature_extractor": <the backbone>}`` -- a checkpoint saved as
  ``tf.train.Checkpoint(feature_extractor=keras_backbone)`` (the zoo's ImageNet checkpoints);
* ``detection``: ``{"model": Checkpoint(_feature_extractor=...)}`` (Faster R-CNN:
  ``_feature_extractor_for_proposal_features`` and ``_feature_extractor_for_box_classifier_
  features``) -- a detection checkpoint such as a model-zoo download's ``checkpoint/ckpt-0``;
* ``full``: ``{"model": <the whole model>}``, box predictor included.

When the checkpoint holds none of those objects, or holds them for another backbone, the restore
stops with "Found N Python objects that were not bound to checkpointed values" or "Received
incompatible tensor with shape", after part of the checkpoint has already been loaded.

The checkpoint is read from its ``.index`` alone (:mod:`tfod_doctor.model.checkpoint_index`): its
top-level objects tell the kind and the meta-architecture; the backbone is told from shapes (the
stem is the only convolution that reads the 3 image channels; depthwise kernels have one output
channel per input), which holds for Keras 2 and Keras 3 object paths and TF1 names alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfod_doctor.catalogue import config as C
from tfod_doctor.catalogue import model as A
from tfod_doctor.config.pipeline import PipelineConfig
from tfod_doctor.config.validate import Node
from tfod_doctor.findings import Finding
from tfod_doctor.model.checkpoint_index import (
    OBJECT_GRAPH_KEY,
    BundleIndex,
    CheckpointIndexError,
    TensorEntry,
    read_index,
)

_VALUE_SUFFIX = "/.ATTRIBUTES/VARIABLE_VALUE"
#: Object-path components under which a Keras model keeps its layers (Keras 2 and Keras 3).
_LAYER_PARTS = re.compile(r"^(layer_with_weights-\d+|layer-\d+|_operations|_layers|layers)$")
#: A detection model's own objects, as ``model/<name>`` in the checkpoint, by meta-architecture.
_META_ARCH_OBJECTS = {
    "faster_rcnn": ("_feature_extractor_for_proposal_features",
                    "_feature_extractor_for_box_classifier_features",
                    "_first_stage_box_predictor"),
    "center_net": ("_prediction_head_dict",),
    "ssd": ("_box_predictor",),
}
META_ARCH_NAMES = {"ssd": "SSD", "faster_rcnn": "Faster R-CNN", "center_net": "CenterNet"}
#: The objects ``restore_from_objects("detection")`` asks the checkpoint's ``model`` for.
_DETECTION_OBJECTS = {
    "faster_rcnn": ("_feature_extractor_for_proposal_features",
                    "_feature_extractor_for_box_classifier_features"),
}
#: Faster R-CNN keeps its backbone in two models whose names start with this.
_SPLIT_EXTRACTOR = "model/_feature_extractor_for_"
#: Feature extractors whose ``classification_backbone`` raises (no classification restore).
_NO_CLASSIFICATION_BACKBONE = ("hourglass",)
#: TF1 (slim) scope names -> backbone family.
_TF1_SCOPES = (
    ("inceptionresnetv2", "Inception-ResNet-v2"), ("mobilenetv1", "MobileNetV1"),
    ("mobilenetv2", "MobileNetV2"), ("mobilenetv3", "MobileNetV3"),
    ("efficientnet", "EfficientNet"), ("inceptionv2", "Inception-v2"),
    ("inceptionv3", "Inception-v3"),
)


@dataclass(frozen=True)
class Backbone:
    """The image backbone found in a checkpoint, and the shapes it was told from."""

    family: str | None
    path: str
    stem: tuple[int, ...] | None = None
    convolutions: int = 0
    depthwise: int = 0

    def evidence(self) -> str:
        """The shapes that tell the family, for messages."""
        if self.stem is None:
            return f"from its variable names under {self.path}"
        stem = "x".join(str(d) for d in self.stem)
        return (f"stem convolution {stem}, {self.convolutions} convolutions, {self.depthwise} "
                "depthwise")

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, "path": self.path,
                "stem": list(self.stem) if self.stem else None,
                "convolutions": self.convolutions, "depthwise": self.depthwise}


@dataclass(frozen=True)
class CheckpointFacts:
    """What a checkpoint is, as far as its index tells."""

    prefix: str
    #: ``detection``, ``classification``, ``other`` (object-based, neither), or ``tf1``.
    kind: str
    meta_arch: str | None
    backbone: Backbone | None
    roots: tuple[str, ...]
    variables: int
    shards: int
    #: The number of classes the box predictor's class layer was made for (detection only).
    num_classes: int | None = None

    def describe(self) -> str:
        """A few words: "a detection checkpoint of an SSD with a MobileNetV2 backbone"."""
        what = {"detection": "a detection checkpoint", "classification":
                "a classification checkpoint", "tf1": "a TF1 (name-based) checkpoint",
                "other": "an object-based checkpoint that is neither a detection nor a "
                         "classification checkpoint"}[self.kind]
        if self.meta_arch:
            what += f" of {_article(META_ARCH_NAMES[self.meta_arch])}"
        family = self.backbone.family if self.backbone else None
        if family:
            what += f" with a {family} backbone" if self.kind != "classification" else \
                f" of {_article(family)}"
        return what

    def to_dict(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "kind": self.kind, "meta_arch": self.meta_arch,
                "backbone": self.backbone.to_dict() if self.backbone else None,
                "objects": list(self.roots), "variables": self.variables,
                "shards": self.shards, "num_classes": self.num_classes}


def _article(name: str) -> str:
    spoken_vowel = name[:1] in "AEIOU" or name.startswith(("SSD", "R-"))
    return ("an " if spoken_vowel else "a ") + name


# -- what the checkpoint is --------------------------------------------------------------------


def describe_index(prefix: str, index: BundleIndex) -> CheckpointFacts:
    """Tell the checkpoint's kind, meta-architecture and backbone from its index."""
    variables = [e for e in index.entries if _is_weight(e.name)]
    if not index.object_based:
        return CheckpointFacts(prefix, "tf1", _tf1_meta_arch(variables), _tf1_backbone(variables),
                               (), len(variables), index.num_shards)
    paths = {_path(e.name): e for e in variables}
    roots = tuple(sorted({p.split("/")[0] for p in paths}))
    model_objects = {p.split("/")[1] for p in paths if p.startswith("model/") and "/" in p[6:]}
    meta_arch = next((arch for arch, names in _META_ARCH_OBJECTS.items()
                      if model_objects.intersection(names)), None)
    if "model" in roots and any(o.startswith("_feature_extractor") for o in model_objects):
        kind, under = "detection", "model/_feature_extractor"
    elif "feature_extractor" in roots:
        kind, under, meta_arch = "classification", "feature_extractor", None
    else:
        kind, under, meta_arch = "other", "", None
    backbone = _backbone({p: e for p, e in paths.items() if p.startswith(under)}, under) \
        if under else None
    classes = _class_count(paths, meta_arch) if kind == "detection" else None
    return CheckpointFacts(prefix, kind, meta_arch, backbone, roots, len(variables),
                           index.num_shards, classes)


def _last_kernel(paths: dict[str, TensorEntry], *parts: str) -> tuple[int, ...] | None:
    """The shape of the last kernel (in layer order) whose path has every one of ``parts``."""
    found = sorted((p for p, e in paths.items() if p.endswith("kernel") and e.shape
                    and all(f"/{part}/" in f"/{p}/" for part in parts)), key=_order)
    return paths[found[-1]].shape if found else None


def _class_count(paths: dict[str, TensorEntry], meta_arch: str | None) -> int | None:
    """The classes the checkpoint's class layer predicts: SSD's has (classes + background) x
    anchors per place outputs and its box layer 4 x anchors; Faster R-CNN's second stage has
    classes + background; CenterNet's object-center heatmap has one channel per class."""
    if meta_arch == "ssd":
        scores = _last_kernel(paths, "class_predictions_with_background", "_class_predictor_layers")
        boxes = _last_kernel(paths, "box_encodings", "_box_encoder_layers")
        if not scores or not boxes or boxes[-1] % 4 or not boxes[-1]:
            return None
        anchors = boxes[-1] // 4
        return scores[-1] // anchors - 1 if scores[-1] % anchors == 0 else None
    if meta_arch == "faster_rcnn":
        scores = _last_kernel(paths, "_mask_rcnn_box_predictor", "_class_predictor_layers")
        return scores[-1] - 1 if scores else None
    if meta_arch == "center_net":
        scores = _last_kernel(paths, "_prediction_head_dict", "object_center")
        return scores[-1] if scores else None
    return None


def _is_weight(name: str) -> bool:
    return (name != OBJECT_GRAPH_KEY and "/.OPTIMIZER_SLOT/" not in name
            and not name.startswith(("save_counter", "optimizer/", "global_step")))


def _path(name: str) -> str:
    return name[: -len(_VALUE_SUFFIX)] if name.endswith(_VALUE_SUFFIX) else name


def _order(path: str) -> tuple:
    """Sort object paths by layer number, not as text (layer-10 after layer-9)."""
    return tuple(int(part) if part.isdigit() else part
                 for part in re.split(r"(\d+)", path))


def _backbone(paths: dict[str, TensorEntry], extractor: str) -> Backbone | None:
    """The backbone among the feature extractor's variables: the subtree of the stem
    convolution (the Keras model it is a layer of; else the whole extractor)."""
    kernels = {p: e.shape for p, e in paths.items() if e.shape is not None and len(e.shape) == 4}
    stems = sorted((p for p, s in kernels.items() if s[2] == 3), key=_order)
    if not stems:
        return None
    root = _subtree(stems[0]) or extractor
    under = root + "/"
    if root.startswith(_SPLIT_EXTRACTOR):  # Faster R-CNN: conv1-4 and conv5 in two models
        root, under = _SPLIT_EXTRACTOR + "*", _SPLIT_EXTRACTOR
    inside = [s for p, s in kernels.items() if p.startswith(under) and s is not None]
    depthwise = [s for s in inside if s[3] == 1 and s[0] > 1]
    stem = kernels[stems[0]]
    assert stem is not None
    convolutions = len(inside) - len(depthwise)
    family = _family(stem, convolutions, depthwise)
    return Backbone(family, root, stem, convolutions, len(depthwise))


def _subtree(stem_path: str) -> str | None:
    """The object path of the Keras model the stem belongs to (up to its layer list)."""
    parts = stem_path.split("/")
    for i, part in enumerate(parts):
        if i and _LAYER_PARTS.match(part):
            return "/".join(parts[:i])
    return None


def _family(stem: tuple[int, ...], convolutions: int,
            depthwise: list[tuple[int, ...]]) -> str | None:
    """The backbone family from the stem's shape and the counts of convolutions."""
    size, channels = stem[0], stem[3]
    if depthwise:
        if any(s[0] == 5 for s in depthwise):
            return "MobileNetV3" if channels <= 16 else "EfficientNet"
        if 12 <= len(depthwise) <= 14:  # 13 blocks
            return "MobileNetV1"
        return "MobileNetV2" if 15 <= len(depthwise) <= 24 else None  # 17 blocks
    if size == 7 and channels == 64 and convolutions >= 15:
        for depth, most in ((18, 30), (34, 45), (50, 80), (101, 130)):
            if convolutions < most:
                return f"ResNet-{depth}"
        return "ResNet-152"
    if size == 7 and channels == 128:
        return "Hourglass"
    if size == 3 and convolutions > 150:
        return "Inception-ResNet-v2"
    return None


def _tf1_meta_arch(variables: list[TensorEntry]) -> str | None:
    names = [e.name for e in variables]
    if any(n.startswith(("FirstStageFeatureExtractor/", "SecondStageFeatureExtractor/"))
           for n in names):
        return "faster_rcnn"
    if any(n.startswith(("FeatureExtractor/", "BoxPredictor")) for n in names):
        return "ssd"
    return None


def _tf1_backbone(variables: list[TensorEntry]) -> Backbone | None:
    scopes = {part.lower().replace("_", "") for e in variables for part in e.name.split("/")[:3]}
    for scope in sorted(scopes):
        match = re.fullmatch(r"resnetv[12](\d+)", scope)
        if match:
            return Backbone(f"ResNet-{match.group(1)}", scope)
        for token, family in _TF1_SCOPES:
            if scope == token:
                return Backbone(family, scope)
    return None


# -- what the config needs -----------------------------------------------------------------------


def extractor_family(extractor_type: str) -> str | None:
    """The backbone family a ``feature_extractor.type`` builds (``None`` when unknown)."""
    name = extractor_type.lower()
    if "inception_resnet_v2" in name:
        return "Inception-ResNet-v2"
    for version in ("1", "2", "3"):
        if f"mobilenet_v{version}" in name:
            return f"MobileNetV{version}"
    if "efficientnet" in name:
        return "EfficientNet"
    if "hourglass" in name:
        return "Hourglass"
    match = re.search(r"resnet(?:_v[12]_)?(\d+)", name)
    return f"ResNet-{match.group(1)}" if match else None


def effective_type(train: Node) -> tuple[str, str]:
    """``fine_tune_checkpoint_type`` as TF2 training uses it, and why (``written``, ``from
    from_detection_checkpoint`` or ``the default``) -- ``config_util.update_fine_tune_
    checkpoint_type`` fills an unset type from the deprecated ``from_detection_checkpoint``."""
    written = train.get("fine_tune_checkpoint_type")
    if written:
        return written, "written"
    if train.get("from_detection_checkpoint"):
        return "detection", "from from_detection_checkpoint: true"
    return "classification", "the default"


# -- the check -----------------------------------------------------------------------------------


def checkpoint_findings(config: PipelineConfig, prefix: Path
                        ) -> tuple[list[Finding], CheckpointFacts | None]:
    """Read the checkpoint at ``prefix`` and say whether this config restores from it."""
    train = config.train_config
    assert train is not None
    written = train.get("fine_tune_checkpoint")
    index_path = prefix.with_name(prefix.name + ".index")
    try:
        index = read_index(index_path)
    except (OSError, CheckpointIndexError) as exc:
        reason = exc.reason if isinstance(exc, CheckpointIndexError) else (exc.strerror or
                                                                           str(exc))
        return [config.finding(
            C.CHECKPOINT_NOT_FOUND, f"fine_tune_checkpoint {written!r} cannot be read: "
            f"{index_path.name}: {reason}", train.value_pos("fine_tune_checkpoint"),
            "download the checkpoint again (its .index file is damaged or is not a TensorFlow "
            "checkpoint index)", reason=reason)], None
    facts = describe_index(str(prefix), index)
    return _restore_findings(config, train, facts), facts


def _restore_findings(config: PipelineConfig, train: Node,
                      facts: CheckpointFacts) -> list[Finding]:
    kind, source = effective_type(train)
    if facts.kind == "tf1":
        return [_tf1_finding(config, train, facts)]
    refused = _refused_type(config, train, kind, source)
    if refused is not None:
        return [refused]
    if kind not in ("classification", "detection", "full"):
        return []  # C011 (config) already says training refuses the value
    wanted = "classification" if kind == "classification" else "detection"
    if facts.kind != wanted:
        return [_kind_finding(config, train, facts, kind, source)]
    return _architecture_findings(config, train, facts, kind)


def _type_pos(train: Node):
    """The line to change for the type: its own when written, else fine_tune_checkpoint's."""
    if train.has("fine_tune_checkpoint_type"):
        return train.value_pos("fine_tune_checkpoint_type")
    return train.value_pos("fine_tune_checkpoint")


def _evidence(facts: CheckpointFacts, **more: Any) -> dict[str, Any]:
    return {"checkpoint": facts.to_dict(), **more}


def _kind_finding(config: PipelineConfig, train: Node, facts: CheckpointFacts, kind: str,
                  source: str) -> Finding:
    name = _named(train)
    said = f"fine_tune_checkpoint_type is {kind}" + (f" ({source})" if source != "written"
                                                      else "")
    needs = {"classification": "an object named feature_extractor (an ImageNet backbone)",
             "detection": "the detection model's feature extractor under model/",
             "full": "the whole detection model under model/"}[kind]
    if facts.kind == "detection":
        hint = 'set fine_tune_checkpoint_type: "detection"'
    elif facts.kind == "classification":
        hint = 'set fine_tune_checkpoint_type: "classification"'
    else:
        hint = ("point fine_tune_checkpoint at a model-zoo checkpoint (MODEL/checkpoint/ckpt-0) "
                "or at an ImageNet backbone checkpoint")
    top = ", ".join(facts.roots) or "nothing"
    return config.finding(
        A.CHECKPOINT_KIND, f"{name} is {facts.describe()} (its objects: {top}), but {said}: "
        f"the restore looks for {needs}, finds nothing to restore and stops", _type_pos(train),
        hint, tensorflow=A.CHECKPOINT_KIND.tf_message, **_evidence(facts, type=kind))


def _architecture_findings(config: PipelineConfig, train: Node, facts: CheckpointFacts,
                           kind: str) -> list[Finding]:
    arch = config.arch
    name = _named(train)
    pos = train.value_pos("fine_tune_checkpoint")
    extractor = _extractor_type(config)
    wanted_family = extractor_family(extractor) if extractor else None
    found_family = facts.backbone.family if facts.backbone else None
    if kind != "classification" and facts.meta_arch and arch in META_ARCH_NAMES \
            and facts.meta_arch != arch:
        return [config.finding(
            A.CHECKPOINT_ARCHITECTURE, f"{name} is {facts.describe()}, but this config builds "
            f"{_article(META_ARCH_NAMES[arch])}: restoring it as {kind} finds none of the "
            f"objects {_wanted_objects(arch, kind)}", pos, _architecture_hint(config, facts),
            tensorflow=A.CHECKPOINT_ARCHITECTURE.tf_message,
            **_evidence(facts, meta_arch=arch, feature_extractor=extractor))]
    if wanted_family and found_family and wanted_family != found_family:
        assert facts.backbone is not None
        return [config.finding(
            A.CHECKPOINT_ARCHITECTURE, f"{name} is {facts.describe()} "
            f"({facts.backbone.evidence()}), but feature_extractor {extractor!r} builds "
            f"{_article(wanted_family)} backbone: the backbone's variables do not fit", pos,
            _architecture_hint(config, facts), tensorflow=A.CHECKPOINT_ARCHITECTURE.tf_message,
            **_evidence(facts, meta_arch=arch, feature_extractor=extractor,
                        expected_backbone=wanted_family))]
    num_classes = config.num_classes
    if kind == "full" and facts.num_classes and num_classes and num_classes != facts.num_classes:
        return [config.finding(
            A.CHECKPOINT_FULL_CLASSES, f"fine_tune_checkpoint_type is full, which restores the "
            f"box predictor too, but the class layer of {name} was made for {facts.num_classes} "
            f"classes and this config has num_classes: {num_classes}: its shape does not fit",
            _type_pos(train), tensorflow=A.CHECKPOINT_FULL_CLASSES.tf_message,
            **_evidence(facts, num_classes=num_classes))]
    return []


def _wanted_objects(arch: str, kind: str) -> str:
    if kind == "full":
        return "of the whole model"
    names = _DETECTION_OBJECTS.get(arch, ("_feature_extractor",))
    return "model/" + " and model/".join(names)


def _architecture_hint(config: PipelineConfig, facts: CheckpointFacts) -> str:
    family = facts.backbone.family if facts.backbone else None
    built = (f"{META_ARCH_NAMES.get(facts.meta_arch or '', 'model')} with a {family} backbone"
             if family else META_ARCH_NAMES.get(facts.meta_arch or "", "the same model"))
    return (f"point fine_tune_checkpoint at a checkpoint of this config's model (a model-zoo "
            f"download of the same architecture), or train the {built} that the checkpoint "
            "holds (start from that model's own pipeline.config)")


def _refused_type(config: PipelineConfig, train: Node, kind: str, source: str) -> Finding | None:
    extractor = _extractor_type(config)
    if kind != "classification" or config.arch != "center_net" or not extractor \
            or not any(name in extractor for name in _NO_CLASSIFICATION_BACKBONE):
        return None
    said = "" if source == "written" else f" ({source})"
    return config.finding(
        A.CHECKPOINT_TYPE_REFUSED, f"fine_tune_checkpoint_type is classification{said}, which "
        f"CenterNet's {extractor!r} feature extractor cannot restore: it has no classification "
        "backbone", _type_pos(train), 'set fine_tune_checkpoint_type: "detection" and use a '
        "CenterNet Hourglass checkpoint from the model zoo",
        tensorflow=A.CHECKPOINT_TYPE_REFUSED.tf_message, feature_extractor=extractor)


def _tf1_finding(config: PipelineConfig, train: Node, facts: CheckpointFacts) -> Finding:
    name = _named(train)
    return config.finding(
        A.CHECKPOINT_TF1, f"{name} is {facts.describe()} ({facts.variables} variables named by "
        "scope, no object graph): TF2 training restores only object-based checkpoints written "
        "by tf.train.Checkpoint", train.value_pos("fine_tune_checkpoint"),
        tensorflow=A.CHECKPOINT_TF1.tf_message, **_evidence(facts))


def _extractor_type(config: PipelineConfig) -> str | None:
    node = config.arch_node.node("feature_extractor") if config.arch_node else None
    return node.get("type") if node else None


def _named(train: Node) -> str:
    """The checkpoint as the config names it, for messages."""
    return f"fine_tune_checkpoint {train.get('fine_tune_checkpoint')!r}"
