"""tfod-doctor's own schema of the OD API config messages."""

from __future__ import annotations

import pytest

from tfod_doctor.config import od_schema, schema


def test_schema_covers_what_configs_use():
    train = schema.message("TrainConfig")
    assert train.fields["fine_tune_checkpoint_version"].type == "CheckpointVersion"
    assert train.fields["max_number_of_boxes"].deprecated
    reader = schema.message("InputReader")
    assert reader.fields["drop_remainder"].default == "true"
    assert reader.oneofs["input_reader"] == ("tf_record_input_reader", "external_input_reader")
    assert schema.message("DetectionModel").oneofs["model"] == (
        "faster_rcnn", "ssd", "experimental_model", "center_net")
    steps = schema.message("PreprocessingStep").fields
    for name in ("random_horizontal_flip", "ssd_random_crop", "random_crop_image",
                 "random_scale_crop_and_pad_to_square", "adjust_gamma"):
        assert name in steps
    assert schema.message("TFRecordInputReader").suggest("input_paths") == "input_path"


def test_every_type_named_in_the_schema_is_defined():
    for name, rows in od_schema.MESSAGES.items():
        for field, kind, _, _ in rows:
            known = kind in schema.SCALARS or kind in od_schema.MESSAGES or kind in od_schema.ENUMS
            assert known, f"{name}.{field}: {kind}"


def test_schema_matches_an_installed_od_api():
    """Run where the OD API imports (PYTHONPATH=models/research) to compare with its protos."""
    protos = pytest.importorskip("object_detection.protos.pipeline_pb2")
    seen, stack = set(), [protos.TrainEvalPipelineConfig.DESCRIPTOR]
    while stack:
        descriptor = stack.pop()
        short = descriptor.full_name.removeprefix("object_detection.protos.")
        if short in seen:
            continue
        seen.add(short)
        ours = schema.message(short)
        assert set(ours.fields) == {f.name for f in descriptor.fields}, short
        stack += [f.message_type for f in descriptor.fields if f.message_type is not None]
