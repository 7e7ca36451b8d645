"""``make_dataset``: a small OD API dataset on disk, clean or with defects planted on request.

    >>> ds = make_dataset(tmp_path, defects=["pixel_boxes", "bad_payload_crc"])
    >>> ds.config_path, ds.label_map_path, ds.train_files, ds.planted

Records are written by this package's writer, or by TensorFlow's own (``writer="tf"``: the
oracle for tests). Images are real JPEG/PNG files made with Pillow.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from tfod_doctor.checks.context import InputFlags, LabelTable
from tfod_doctor.records import encode_example, frame
from tfod_doctor.testing.builder import Builder, Planted, Slot, Stage
from tfod_doctor.testing.builder import defects as registered_defects
from tfod_doctor.testing.checkpoints import detection_for, write_checkpoint
from tfod_doctor.testing.configs import (
    ConfigSpec,
    LabelItem,
    label_map_text,
    pipeline_config_text,
)
from tfod_doctor.testing.samples import Sample, random_sample

DEFAULT_CLASSES = ("cat", "dog", "bird")
#: Image formats and modes of a varied dataset: all of them decode in the OD API.
VARIED_FORMATS = [("jpeg", "RGB"), ("jpeg", "L"), ("png", "RGB"), ("png", "RGBA"), ("png", "L"),
                  ("jpeg", "CMYK"), ("png", "P"), ("bmp", "RGB")]
VARIED_SIZES = [(64, 48), (48, 64), (80, 60), (32, 32), (100, 40)]


@dataclass
class Dataset:
    """A dataset on disk: record files, label map, pipeline.config, and what was planted where."""

    root: Path
    config_path: Path
    label_map_path: Path
    train_files: list[Path]
    eval_files: list[Path]
    classes: list[str]
    samples: dict[str, list[Sample]]
    planted: list[Planted] = field(default_factory=list)
    extra_inputs: list[str] = field(default_factory=list)
    label_items: list[LabelItem] = field(default_factory=list)
    #: What ``scan`` needs besides the inputs to see the planted defects (see :meth:`scan_args`).
    scan_options: dict[str, Any] = field(default_factory=dict)
    #: What ``check`` (and ``scan``) must be told to see the planted defects: the switches of
    #: rules that are off by default (``{"near_duplicates": True}``).
    check_options: dict[str, Any] = field(default_factory=dict)

    @property
    def record_files(self) -> list[Path]:
        """Every record file, train first."""
        return [*self.train_files, *self.eval_files]

    @property
    def scan_inputs(self) -> list[str]:
        """What to pass to ``tfod-doctor scan``: every record file and the extra inputs."""
        return [str(p) for p in self.record_files] + self.extra_inputs

    def label_table(self) -> LabelTable:
        """The label map as the decoder uses it (name -> id), built from the items written."""
        names = {item.name: item.id for item in self.label_items if item.id is not None}
        display = {item.display_name: item.id for item in self.label_items
                   if item.id is not None and item.display_name is not None}
        ids = {item.id: item.name for item in reversed(self.label_items) if item.id is not None}
        return LabelTable(names=names, display_names=display, ids=ids,
                          path=str(self.label_map_path))

    def scan_args(self) -> dict[str, Any]:
        """Keyword arguments for :func:`tfod_doctor.api.scan` that see every planted defect."""
        options = {**self.scan_options, **self.check_options}
        if options.pop("use_label_map", False):
            options["label_map"] = self.label_table()
        if options.pop("use_splits", False):
            options["inputs"] = [str(p) for p in self.train_files] + self.extra_inputs
            options["eval_inputs"] = [str(p) for p in self.eval_files]
        else:
            options["inputs"] = self.scan_inputs
        return options

    def planted_for(self, defect: str) -> list[Planted]:
        """Where one defect was planted."""
        return [p for p in self.planted if p.defect == defect]

    def file(self, relative: str) -> Path:
        """A dataset file by its name relative to the root."""
        return self.root / relative


def _encode(features: dict[str, Any], writer: str) -> bytes:
    if writer == "tf":
        from tfod_doctor.testing.tf_oracle import tf_encode

        return tf_encode(features)
    return encode_example(features)


def _write(path: Path, payloads: Sequence[bytes], writer: str) -> bytes:
    if writer == "tf":
        from tfod_doctor.testing.tf_oracle import tf_write_records

        tf_write_records(path, payloads)
        return path.read_bytes()
    return b"".join(frame(payload) for payload in payloads)


def _cover_every_class(samples: list[Sample], classes: list[str]) -> None:
    """Give the first box of the first images one class each, so that a clean dataset uses every
    class of its label map (as a real one does) whenever it has enough boxed images."""
    boxed = [sample for sample in samples if sample.boxes]
    for number, sample in enumerate(boxed[: len(classes)], start=1):
        sample.boxes[0].label, sample.boxes[0].text = number, classes[number - 1]


def _shard_names(role: str, shards: int) -> list[str]:
    return [f"data/{role}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]


def _make_slots(builder: Builder, role: str, samples: list[Sample], shards: int) -> None:
    names = _shard_names(role, shards)
    for name in names:
        builder.roles[name] = role
        builder.slots[name] = []
    for i, sample in enumerate(samples):
        name = names[i % shards]
        slots = builder.slots[name]
        slots.append(Slot(role, name, len(slots), sample, sample.features()))


def make_dataset(
    root: str | Path,
    defects: Sequence[str] = (),
    *,
    classes: Sequence[str] = DEFAULT_CLASSES,
    n_train: int = 12,
    n_eval: int = 4,
    train_shards: int = 2,
    eval_shards: int = 1,
    varied: bool = False,
    negative_rate: float = 0.0,
    max_boxes_per_image: int = 4,
    seed: int = 0,
    writer: str = "ours",
    arch: str = "ssd",
    max_number_of_boxes: int | None = None,
) -> Dataset:
    """Write a dataset under ``root`` with the named defects planted (see :func:`defect_names`)."""
    wanted = list(defects)
    registry = registered_defects()
    unknown = [name for name in wanted if name not in registry]
    if unknown:
        raise ValueError(f"unknown defect(s) {unknown}; known: {sorted(registry)}")
    if "missing_shard" in wanted:
        train_shards = max(train_shards, 3)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    builder = Builder(root=root, rng=rng, classes=list(classes))
    formats = VARIED_FORMATS if varied else [("jpeg", "RGB")]
    sizes = VARIED_SIZES if varied else [(64, 48)]
    for role, count, shards in (("train", n_train, train_shards), ("eval", n_eval, eval_shards)):
        samples = [
            random_sample(rng, i, builder.classes, sizes, formats, max_boxes_per_image,
                          negative_rate, prefix=role)
            for i in range(count)
        ]
        _cover_every_class(samples, builder.classes)
        _make_slots(builder, role, samples, shards)
    builder.label_items = [LabelItem(name, i + 1) for i, name in enumerate(builder.classes)]

    chosen = [registry[name] for name in wanted]

    def run(stage: Stage) -> None:
        for item in chosen:
            if item.stage is stage:
                item.func(builder)

    run(Stage.FEATURES)
    for slots in builder.slots.values():
        for slot in slots:
            slot.payload = _encode(slot.features, writer)
    run(Stage.PAYLOADS)
    for name, slots in builder.slots.items():
        builder.path(name).parent.mkdir(parents=True, exist_ok=True)
        builder.file_bytes[name] = _write(builder.path(name), [s.payload or b"" for s in slots],
                                          writer)
    run(Stage.BYTES)
    run(Stage.FILES)
    for name, data in builder.file_bytes.items():
        builder.path(name).write_bytes(data)
    for name in set(builder.slots) - set(builder.file_bytes):
        builder.path(name).unlink(missing_ok=True)

    builder.label_map_text = label_map_text(builder.label_items)
    run(Stage.LABEL_MAP)
    label_map_path = root / "label_map.pbtxt"
    label_map_path.write_text(builder.label_map_text)

    checkpoint = root / "checkpoint" / "ckpt-0"
    builder.config_spec = ConfigSpec(
        num_classes=len(builder.classes),
        label_map_path=str(label_map_path),
        train_input_paths=[str(root / "data" / "train-*.tfrecord")],
        eval_input_paths=[str(root / "data" / "eval-*.tfrecord")],
        checkpoint=str(checkpoint),
        arch=arch,
        max_boxes=max_number_of_boxes,
        extra_train_reader=reader_flag_lines(builder.scan_options.get("flags")),
        label_map_in_reader=builder.scan_options.get("label_map_in_reader") is not False,
    )
    builder.config_text = pipeline_config_text(builder.config_spec)
    run(Stage.CONFIG)
    write_checkpoint(checkpoint, builder.checkpoint_tensors if builder.checkpoint_tensors
                     is not None else detection_for(arch, len(builder.classes)),
                     builder.checkpoint_object_based)
    config_path = root / "pipeline.config"
    config_path.write_text(builder.config_text)

    def existing(role: str) -> list[Path]:
        return [builder.path(n) for n in builder.files(role) if n in builder.file_bytes]

    return Dataset(
        root=root,
        config_path=config_path,
        label_map_path=label_map_path,
        train_files=existing("train"),
        eval_files=existing("eval"),
        classes=builder.classes,
        samples={name: [s.sample for s in slots] for name, slots in builder.slots.items()},
        planted=builder.planted,
        extra_inputs=builder.extra_inputs,
        label_items=list(builder.label_items),
        scan_options={**builder.scan_options, "use_label_map": builder.scan_label_map,
                      "use_splits": builder.scan_splits},
        check_options=dict(builder.check_options),
    )


def reader_flag_lines(flags: InputFlags | None) -> list[str]:
    """The input-reader lines that set the switches a defect scans with (what differs from the
    OD API's defaults), so that ``check`` through the config sees what ``scan`` is told."""
    if flags is None:
        return []
    default = InputFlags()
    lines = []
    for item in fields(flags):
        value = getattr(flags, item.name)
        if value != getattr(default, item.name):
            text = str(value).lower() if isinstance(value, bool) else str(value)
            lines.append(f"{item.name}: {text}")
    return lines


def defect_names() -> list[str]:
    """The names of every defect ``make_dataset`` can plant, sorted."""
    return sorted(registered_defects())
