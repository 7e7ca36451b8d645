"""Defects of the model and the train loop: what the model builder and the train loop make of
the config, against the records (family A)."""

from __future__ import annotations

from tfod_doctor.checks.context import InputFlags
from tfod_doctor.testing.builder import Builder, Stage, defect
from tfod_doctor.testing.configs import pipeline_config_text
from tfod_doctor.testing.defects.config import CONFIG, _delete_line, _insert_after, _plant, _replace
from tfod_doctor.testing.defects.features import png_masks

#: A TF1 extractor per meta-architecture (the TF2 builder does not have it).
_TF1_EXTRACTORS = {"ssd": "ssd_mobilenet_v2_fpn", "faster_rcnn": "faster_rcnn_resnet50"}


def _use_arch(b: Builder, arch: str) -> None:
    """Write the config again with another meta-architecture."""
    assert b.config_spec is not None
    b.config_spec.arch = arch
    b.config_text = pipeline_config_text(b.config_spec)


@defect("tf1_feature_extractor", Stage.CONFIG)
def tf1_feature_extractor(b: Builder) -> None:
    """The feature extractor is a TF1 one (ssd_mobilenet_v2_fpn for ssd_mobilenet_v2_fpn_keras)."""
    arch = b.config_spec.arch if b.config_spec and b.config_spec.arch in _TF1_EXTRACTORS else None
    if arch is None:
        _use_arch(b, "ssd")
        arch = "ssd"
    line = b.config_line("type:", b.config_line("feature_extractor {"))
    lines = b.config_text.split("\n")
    lines[line - 1] = f'      type: "{_TF1_EXTRACTORS[arch]}"'
    b.config_text = "\n".join(lines)
    _plant(b, "tf1_feature_extractor", line)


@defect("mask_rcnn_without_masks", Stage.CONFIG)
def mask_rcnn_without_masks(b: Builder) -> None:
    """A Mask R-CNN (predict_instance_masks: true); the readers do not load masks and the
    records have none."""
    _use_arch(b, "faster_rcnn")
    _plant(b, "mask_rcnn_without_masks",
           _insert_after(b, "share_box_across_classes: true",
                         "        predict_instance_masks: true"))


@defect("keypoint_task_without_keypoints", Stage.CONFIG)
def keypoint_task_without_keypoints(b: Builder) -> None:
    """A CenterNet keypoint task; the readers set no num_keypoints, the records have none."""
    _use_arch(b, "center_net")
    assert b.config_spec is not None
    task = [f'    keypoint_label_map_path: "{b.config_spec.label_map_path}"',
            "    keypoint_estimation_task {", '      task_name: "pose"',
            f'      keypoint_class_name: "{b.classes[0]}"', "    }"]
    line = _insert_after(b, "center_net {", "\n".join(task))
    _plant(b, "keypoint_task_without_keypoints", line + 1)


@defect("mask_type_mismatch", Stage.FEATURES)
def mask_type_mismatch(b: Builder) -> None:
    """Train records hold PNG masks; the train reader loads masks as NUMERICAL_MASKS (the
    default mask_type)."""
    b.scan_options["flags"] = InputFlags(load_instance_masks=True)
    for name in b.files("train"):
        for slot in b.slots[name]:
            slot.features["image/object/mask"] = png_masks(slot, len(slot.sample.boxes))
    b.plant("mask_type_mismatch", file=CONFIG, note="load_instance_masks without mask_type")


@defect("warmup_above_total_steps", Stage.CONFIG)
def warmup_above_total_steps(b: Builder) -> None:
    """The cosine schedule warms up for longer than it lasts."""
    _plant(b, "warmup_above_total_steps", _replace(b, "warmup_steps: 100", "warmup_steps: 3000"))


@defect("schedule_shorter_than_training", Stage.CONFIG)
def schedule_shorter_than_training(b: Builder) -> None:
    """total_steps below num_steps: the learning rate is 0 for the rest."""
    _plant(b, "schedule_shorter_than_training",
           _replace(b, "total_steps: 1000", "total_steps: 500"))


@defect("schedule_longer_than_training", Stage.CONFIG)
def schedule_longer_than_training(b: Builder) -> None:
    """num_steps lowered, total_steps left: training stops before the schedule decays."""
    _replace(b, "  num_steps: 1000", "  num_steps: 250")
    _plant(b, "schedule_longer_than_training", b.config_line("total_steps: 1000"))


@defect("num_steps_unset", Stage.CONFIG)
def num_steps_unset(b: Builder) -> None:
    """No num_steps in train_config."""
    _delete_line(b, "  num_steps: ")
    _plant(b, "num_steps_unset", b.config_line("train_config {"))


@defect("many_epochs", Stage.CONFIG)
def many_epochs(b: Builder) -> None:
    """num_steps (and total_steps) of 200000 for a dozen train records."""
    _replace(b, "total_steps: 1000", "total_steps: 200000")
    _plant(b, "many_epochs", _replace(b, "  num_steps: 1000", "  num_steps: 200000"))


@defect("batch_larger_than_train_split", Stage.CONFIG)
def batch_larger_than_train_split(b: Builder) -> None:
    """train_config.batch_size above the number of train records."""
    records = sum(len(b.slots[name]) for name in b.files("train"))
    line = b.config_line("  batch_size: ", b.config_line("train_config"))
    lines = b.config_text.split("\n")
    lines[line - 1] = f"  batch_size: {records + 4}"
    b.config_text = "\n".join(lines)
    _plant(b, "batch_larger_than_train_split", line)
