"""tfod-doctor's own schema of the OD API config messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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


_COMPARE = """
import json
from object_detection.protos import pipeline_pb2
seen, stack, fields = set(), [pipeline_pb2.TrainEvalPipelineConfig.DESCRIPTOR], {}
while stack:
    descriptor = stack.pop()
    short = descriptor.full_name.removeprefix("object_detection.protos.")
    if short in seen:
        continue
    seen.add(short)
    fields[short] = sorted(f.name for f in descriptor.fields)
    stack += [f.message_type for f in descriptor.fields if f.message_type is not None]
print(json.dumps(fields))
"""

#: Fields of the PyPI package (2.8.0) that tensorflow/models renamed since: DeepMAC's
#: ``color_consistency_*`` became ``feature_consistency_*``.
_RENAMED_SINCE = {"CenterNet.DeepMACMaskEstimation": "color_consistency_"}


def test_schema_matches_an_installed_od_api():
    """The OD API's own generated protos (``tf-models-research-object-detection``, installed by
    the README's test command) list no message or field that tfod-doctor's schema lacks."""
    pytest.importorskip("object_detection", reason="the OD API package is not installed")
    # Its _pb2 files predate protobuf 4; they load only with the pure-Python implementation.
    env = {**os.environ, "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run([sys.executable, "-c", _COMPARE], capture_output=True, text=True,
                          env=env, timeout=120)
    if done.returncode:
        pytest.skip(f"the installed OD API's protos do not load: {done.stderr.strip()[-300:]}")
    theirs = json.loads(done.stdout)
    assert len(theirs) > 100
    for short, names in theirs.items():
        ours = schema.message(short)
        missing = {n for n in names if n not in ours.fields
                   and not n.startswith(_RENAMED_SINCE.get(short, "\0"))}
        assert not missing, f"{short}: the installed OD API has {sorted(missing)}"
