"""Defects of the checkpoint ``fine_tune_checkpoint`` names: its kind, architecture and format."""

from __future__ import annotations

from dataclasses import replace

from tfod_doctor.testing import checkpoints
from tfod_doctor.testing.builder import Builder, Stage, defect
from tfod_doctor.testing.configs import pipeline_config_text
from tfod_doctor.testing.defects.config import CONFIG, _replace


@defect("checkpoint_type_unknown", Stage.CONFIG)
def checkpoint_type_unknown(b: Builder) -> None:
    """fine_tune_checkpoint_type: "fine_tune" (a TF1-era value no model accepts)."""
    line = _replace(b, 'fine_tune_checkpoint_type: "detection"',
                    'fine_tune_checkpoint_type: "fine_tune"')
    b.plant("checkpoint_type_unknown", file=CONFIG, line=line)


@defect("checkpoint_other_architecture", Stage.CONFIG)
def checkpoint_other_architecture(b: Builder) -> None:
    """An SSD MobileNetV2 config fine-tuned from an SSD ResNet-50 detection checkpoint."""
    b.checkpoint_tensors = checkpoints.ssd_detection(len(b.classes), backbone="resnet50")
    b.plant("checkpoint_other_architecture", file=CONFIG,
            line=b.config_line("fine_tune_checkpoint:"))


@defect("checkpoint_type_refused", Stage.CONFIG)
def checkpoint_type_refused(b: Builder) -> None:
    """A CenterNet Hourglass config with fine_tune_checkpoint_type: "classification"."""
    assert b.config_spec is not None
    b.config_text = pipeline_config_text(replace(b.config_spec, arch="center_net"))
    _replace(b, 'type: "resnet_v1_50_fpn"', 'type: "hourglass_104"')
    line = _replace(b, 'fine_tune_checkpoint_type: "detection"',
                    'fine_tune_checkpoint_type: "classification"')
    b.checkpoint_tensors = checkpoints.center_net_detection(len(b.classes), backbone="hourglass")
    b.plant("checkpoint_type_refused", file=CONFIG, line=line)


@defect("checkpoint_tf1", Stage.CONFIG)
def checkpoint_tf1(b: Builder) -> None:
    """fine_tune_checkpoint is a TF1 model-zoo checkpoint (name-based, no object graph)."""
    b.checkpoint_tensors = checkpoints.tf1_ssd_mobilenet_v2(len(b.classes))
    b.checkpoint_object_based = False
    b.plant("checkpoint_tf1", file=CONFIG, line=b.config_line("fine_tune_checkpoint:"))


@defect("checkpoint_full_other_classes", Stage.CONFIG)
def checkpoint_full_other_classes(b: Builder) -> None:
    """fine_tune_checkpoint_type: "full" with a model-zoo checkpoint made for 90 COCO classes."""
    b.checkpoint_tensors = checkpoints.ssd_detection(90)
    line = _replace(b, 'fine_tune_checkpoint_type: "detection"',
                    'fine_tune_checkpoint_type: "full"')
    b.plant("checkpoint_full_other_classes", file=CONFIG, line=line)
