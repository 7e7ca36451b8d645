"""For the convert tests: converted records read by TensorFlow, label maps by protobuf."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, text_format

try:
    from google.protobuf.message_factory import GetMessageClass
except ImportError:  # protobuf < 4.22
    GetMessageClass = None

import pytest

from tfod_doctor import scan
from tfod_doctor.cli import main
from tfod_doctor.testing import Written

#: float32 stores a normalized coordinate to about 6e-8; this is the bound the tests hold.
TOLERANCE = 1e-6
CLASSES = ["cat", "dog", "traffic light"]
#: Non-contiguous COCO ids, as COCO 2017 has them.
COCO_IDS = {"cat": 17, "dog": 18, "traffic light": 10}


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line; its exit code and output."""
    with pytest.raises(SystemExit) as exited:
        main(args)
    captured = capsys.readouterr()
    return exited.value.code, captured.out, captured.err


@dataclass
class TfSample:
    """What TensorFlow reads from one converted record (OD API spec)."""

    source_id: str
    height: int
    width: int
    decoded_shape: tuple[int, ...]
    boxes: list[tuple[float, float, float, float]]
    labels: list[int]
    texts: list[str]
    parsed: dict


def tf_samples(tf_oracle, files: list[Path]) -> dict[str, TfSample]:
    """Every record of ``files`` read by TensorFlow: TFRecordDataset, then the OD API parser."""
    import tensorflow as tf

    samples = {}
    for path in files:
        payloads, error = tf_oracle.tf_read_records(path)
        assert error is None, f"TensorFlow cannot read {path}: {error}"
        for payload in payloads:
            parsed = tf_oracle.tf_parse(payload)
            image = tf.io.decode_image(parsed["image/encoded"], channels=3,
                                       expand_animations=False)
            sample = TfSample(
                source_id=parsed["image/source_id"].decode(),
                height=int(parsed["image/height"]),
                width=int(parsed["image/width"]),
                decoded_shape=tuple(image.shape),
                boxes=list(zip(*(parsed[f"image/object/bbox/{k}"].tolist()
                                 for k in ("ymin", "xmin", "ymax", "xmax")), strict=True)),
                labels=parsed["image/object/class/label"].tolist(),
                texts=[t.decode() for t in parsed["image/object/class/text"]],
                parsed=parsed,
            )
            assert sample.source_id not in samples, f"source_id {sample.source_id} twice"
            samples[sample.source_id] = sample
    return samples


def label_map_class():
    """``StringIntLabelMap`` with the OD API's field numbers, built at run time."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="tfod_doctor_tests/string_int_label_map.proto",
        package="tfod_doctor_tests", syntax="proto2")
    item = proto.message_type.add(name="StringIntLabelMapItem")
    field = descriptor_pb2.FieldDescriptorProto
    item.field.add(name="name", number=1, type=field.TYPE_STRING, label=field.LABEL_OPTIONAL)
    item.field.add(name="id", number=2, type=field.TYPE_INT32, label=field.LABEL_OPTIONAL)
    item.field.add(name="display_name", number=3, type=field.TYPE_STRING,
                   label=field.LABEL_OPTIONAL)
    label_map = proto.message_type.add(name="StringIntLabelMap")
    label_map.field.add(name="item", number=1, type=field.TYPE_MESSAGE,
                        label=field.LABEL_REPEATED,
                        type_name=".tfod_doctor_tests.StringIntLabelMapItem")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    descriptor = pool.FindMessageTypeByName("tfod_doctor_tests.StringIntLabelMap")
    if GetMessageClass is not None:
        return GetMessageClass(descriptor)
    from google.protobuf.message_factory import MessageFactory

    return MessageFactory(pool).GetPrototype(descriptor)


def read_label_map(path: Path) -> dict[int, str]:
    """The label map parsed by protobuf's own text format parser: id -> name."""
    message = text_format.Parse(path.read_text(encoding="utf-8"), label_map_class()())
    for item in message.item:
        assert item.display_name == item.name
    return {item.id: item.name for item in message.item}


def assert_records_match(tf_oracle, files: list[Path], written: Written, label_map: Path,
                         source_ids: set[str] | None = None) -> dict[str, TfSample]:
    """TensorFlow reads exactly the expected boxes and labels, and the images decode to the
    size the records state."""
    ids = {name: label for label, name in read_label_map(label_map).items()}
    samples = tf_samples(tf_oracle, files)
    wanted = set(written.expected) if source_ids is None else source_ids
    assert set(samples) == wanted
    for source_id in wanted:
        sample, expected = samples[source_id], written.expected[source_id]
        assert sample.decoded_shape[:2] == (sample.height, sample.width)
        assert len(sample.boxes) == len(expected), source_id
        for got, want in zip(sample.boxes, expected, strict=True):
            assert max(abs(g - w) for g, w in zip(got, want[:4], strict=True)) <= TOLERANCE
        assert sample.texts == [box[4] for box in expected]
        assert sample.labels == [ids[box[4]] for box in expected]
    return samples


def assert_checks_clean(out: Path) -> None:
    """tfod-doctor's own record rules find nothing in the converted records."""
    report = scan([str(out)])
    assert report.rule_counts == {}, [f.message for f in report.findings]
    assert report.stats["totals"]["records"] > 0
