"""What ``model_builder.build`` makes of a config: meta-architecture, feature extractor, heads
and the ground truth the heads need, as plain data (no TensorFlow import).

    >>> model = describe(config)
    >>> model.meta_arch, model.extractor, model.supported, model.needs
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache
from typing import Any

from tfod_doctor.config.pipeline import PipelineConfig
from tfod_doctor.config.textproto import Pos
from tfod_doctor.config.validate import Node
from tfod_doctor.model import extractors

#: Ground truth a head can need from the records: ``masks``, ``keypoints``, ``densepose``.
NEEDS = ("masks", "keypoints", "densepose")
_TF_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-macos",
                     "tf-nightly")


@cache
def installed_generation() -> int:
    """The TF generation training runs under: 1 only when an installed TensorFlow 1.x sits next
    to an installed OD API, else 2 (the OD API's current releases are TF2)."""
    if importlib.util.find_spec("object_detection") is None:
        return 2
    versions = _installed_versions()
    for name in _TF_DISTRIBUTIONS:
        version = versions.get(name)
        if version is not None:
            return 1 if version.startswith("1.") else 2
    return 2


def _installed_versions() -> dict[str, str]:
    """Distribution name (lower case, ``-`` for ``_``) -> version, from the ``.dist-info`` and
    ``.egg-info`` folders on ``sys.path``, the first of a name winning (as
    ``importlib.metadata`` finds them, without its 20 ms of imports)."""
    versions: dict[str, str] = {}
    for folder in sys.path:
        try:
            entries = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in entries:
            stem, dot, kind = entry.rpartition(".")
            if dot and kind in ("dist-info", "egg-info") and "-" in stem:
                name, _, version = stem.partition("-")
                versions.setdefault(name.lower().replace("_", "-"), version.split("-")[0])
    return versions


@dataclass(frozen=True)
class Head:
    """A part of the model that learns from ground truth beyond boxes and classes."""

    name: str
    #: What it needs from the records: one of :data:`NEEDS`.
    needs: str
    #: The config field that turns it on, and where it is written.
    field: str
    pos: Pos


@dataclass(frozen=True)
class ModelDescription:
    """The model ``model_builder`` builds from a config, under TF ``generation``."""

    meta_arch: str | None
    #: ``ssd``, ``faster_rcnn``, ``rfcn``, ``mask_rcnn``, ``center_net``, ``deepmac``...
    kind: str | None
    #: The feature extractor type ("" when the config names none).
    extractor: str | None
    extractor_pos: Pos | None
    generation: int
    #: Whether this generation's builder has the extractor (``None``: no extractor to judge).
    supported: bool | None
    #: What to use instead when it has not, and whether it is the same network ported.
    replacement: str | None = None
    exact_replacement: bool = False
    heads: tuple[Head, ...] = ()

    @property
    def needs(self) -> tuple[str, ...]:
        """The ground truth the heads need, in :data:`NEEDS` order."""
        wanted = {head.needs for head in self.heads}
        return tuple(need for need in NEEDS if need in wanted)

    def heads_needing(self, need: str) -> list[Head]:
        """The heads that need ``need``."""
        return [head for head in self.heads if head.needs == need]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form in the report's ``stats["model"]``."""
        return {
            "meta_arch": self.meta_arch, "kind": self.kind, "extractor": self.extractor,
            "tf_generation": self.generation, "tf2_supported": self._tf2_supported(),
            "supported": self.supported, "replacement": self.replacement,
            "heads": [head.name for head in self.heads], "needs": list(self.needs),
        }

    def _tf2_supported(self) -> bool | None:
        if self.meta_arch is None or self.extractor is None or self.supported is None:
            return None
        return extractors.known(self.meta_arch, self.extractor, 2)


def describe(config: PipelineConfig, generation: int | None = None) -> ModelDescription:
    """What the model builder of TF ``generation`` (default: the installed one) makes of
    ``config``."""
    generation = generation or installed_generation()
    arch, node = config.arch, config.arch_node
    if arch is None or node is None or arch not in extractors.TF2:
        return ModelDescription(arch, arch, None, None, generation, None)
    feature = node.node("feature_extractor")
    name = feature.get("type") if feature is not None else ""
    if feature is not None and feature.has("type"):
        pos = feature.value_pos("type")
    else:
        pos = feature.pos if feature is not None else node.pos
    heads = _heads(arch, node)
    supported = extractors.known(arch, name, generation)
    replacement, exact = (None, False) if supported or not name else extractors.replacement(
        arch, name, generation)
    return ModelDescription(arch, _kind(arch, node, heads), name, pos, generation, supported,
                            replacement, exact, heads)


def _kind(arch: str, node: Node, heads: tuple[Head, ...]) -> str:
    if arch == "faster_rcnn":
        predictor = node.node("second_stage_box_predictor")
        if predictor is not None and predictor.has("rfcn_box_predictor"):
            return "rfcn"
        return "mask_rcnn" if any(h.needs == "masks" for h in heads) else "faster_rcnn"
    if arch == "center_net" and node.has("deepmac_mask_estimation"):
        return "deepmac"
    return arch


def _heads(arch: str, node: Node) -> tuple[Head, ...]:
    if arch == "faster_rcnn":
        predictor = node.node("second_stage_box_predictor")
        mask = predictor.node("mask_rcnn_box_predictor") if predictor is not None else None
        if mask is not None and mask.get("predict_instance_masks"):
            return (Head("mask_rcnn_box_predictor", "masks", "predict_instance_masks",
                         mask.where("predict_instance_masks")),)
        return ()
    if arch != "center_net":
        return ()
    heads = []
    for field, need in (("mask_estimation_task", "masks"), ("deepmac_mask_estimation", "masks"),
                        ("densepose_estimation_task", "densepose")):
        if node.has(field):
            heads.append(Head(field, need, field, node.where(field)))
    for task in node.entries("keypoint_estimation_task"):
        name = task.get("task_name") if isinstance(task, Node) else ""
        heads.append(Head(f"keypoint_estimation_task {name}".strip(), "keypoints",
                          "keypoint_estimation_task", task.pos))
    return tuple(heads)
