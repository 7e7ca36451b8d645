"""Benchmark datasets, written once into a cache folder with ``tfod_doctor.testing``.

``large``: 640×480 JPEG records with 1–20 boxes (~91 KB each, 3,000 records, ~273 MB) in 8 shards
plus the same records as one file (to show byte-range splits of a single big file).
``tiny``: 32×32 JPEG records (20,000 records, ~40 MB) in 4 shards.
``grown``: the large shards repeated (hard links) until the dataset reaches a given size, to show
that memory stays flat as the data grows.
"""

from __future__ import annotations

import io
import json
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tfod_doctor.records import TFRecordWriter, encode_example
from tfod_doctor.testing import Sample
from tfod_doctor.testing.configs import ConfigSpec, LabelItem, label_map_text, pipeline_config_text
from tfod_doctor.testing.samples import random_box

CLASSES = ["cat", "dog", "bird", "car", "person"]


@dataclass
class BenchData:
    """A benchmark dataset on disk."""

    name: str
    root: Path
    files: list[Path]
    records: int

    @property
    def bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files)

    @property
    def config(self) -> Path:
        return self.root / "pipeline.config"

    @property
    def label_map(self) -> Path:
        return self.root / "label_map.pbtxt"


def textured_jpeg(width: int, height: int, seed: int) -> bytes:
    """A photo-like JPEG (smooth colour field plus grain): ~87 KB at 640×480, quality 85."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, (max(height // 8, 1), max(width // 8, 1), 3), dtype=np.uint8)
    smooth = np.asarray(Image.fromarray(low).resize((width, height), Image.BICUBIC), np.int16)
    grain = rng.integers(-8, 9, smooth.shape, dtype=np.int16)
    image = Image.fromarray(np.clip(smooth + grain, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def _payloads(count: int, size: tuple[int, int], max_boxes: int, seed: int):
    rng = random.Random(seed)
    for i in range(count):
        image = textured_jpeg(*size, seed=seed * 1_000_003 + i)
        boxes = [random_box(rng, CLASSES) for _ in range(rng.randint(1, max_boxes))]
        name = f"img_{i:06d}.jpg"
        yield encode_example(Sample(image, *size, "jpeg", name, name, boxes).features())


def _write_meta(root: Path, train_glob: str) -> None:
    label_map = root / "label_map.pbtxt"
    label_map.write_text(label_map_text([LabelItem(n, i + 1) for i, n in enumerate(CLASSES)]))
    spec = ConfigSpec(num_classes=len(CLASSES), label_map_path=str(label_map),
                      train_input_paths=[str(root / train_glob)], eval_input_paths=[],
                      checkpoint="")
    (root / "pipeline.config").write_text(pipeline_config_text(spec))


def build(cache: Path, name: str, count: int, size: tuple[int, int], max_boxes: int,
          shards: int, single_file: bool) -> BenchData:
    """Write a dataset once (reused when its manifest is present)."""
    root = cache / name
    manifest = root / "manifest.json"
    if manifest.exists():
        meta = json.loads(manifest.read_text())
        return BenchData(name, root, [root / f for f in meta["files"]], meta["records"])
    root.mkdir(parents=True, exist_ok=True)
    names = [f"train-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    writers = [TFRecordWriter(root / n) for n in names]
    single = None
    if single_file:
        (root / "single").mkdir(exist_ok=True)
        single = TFRecordWriter(root / "single" / "train.tfrecord")
    for i, payload in enumerate(_payloads(count, size, max_boxes, seed=len(name))):
        writers[i % shards].write(payload)
        if single is not None:
            single.write(payload)
    for writer in writers:
        writer.close()
    if single is not None:
        single.close()
    _write_meta(root, "train-*-of-*.tfrecord")
    manifest.write_text(json.dumps({"files": names, "records": count}))
    return BenchData(name, root, [root / n for n in names], count)


LARGE_RECORDS = 3000
TINY_RECORDS = 20000


def _name(base: str, records: int, default: int) -> str:
    return base if records == default else f"{base}-{records}"


def large(cache: Path, records: int = LARGE_RECORDS) -> BenchData:
    """640×480 JPEG records with 1–20 boxes (3,000 by default)."""
    return build(cache, _name("large", records, LARGE_RECORDS), records, (640, 480), 20,
                 shards=8, single_file=True)


def tiny(cache: Path, records: int = TINY_RECORDS) -> BenchData:
    """32×32 JPEG records with 1–4 boxes (20,000 by default)."""
    return build(cache, _name("tiny", records, TINY_RECORDS), records, (32, 32), 4, shards=4,
                 single_file=False)


def single_file(data: BenchData) -> BenchData:
    """The same records as ``data``, in one file."""
    path = data.root / "single" / "train.tfrecord"
    return BenchData(data.name + "-one-file", data.root, [path], data.records)


def grown(cache: Path, base: BenchData, target_bytes: int, copy: bool = False) -> BenchData:
    """``base`` repeated until it holds ``target_bytes``: hard links (or real copies)."""
    repeats = max(1, -(-target_bytes // base.bytes))
    root = cache / f"{base.name}-x{repeats}{'-copy' if copy else ''}"
    root.mkdir(parents=True, exist_ok=True)
    files = []
    for r in range(repeats):
        for f in base.files:
            target = root / f"r{r:04d}-{f.name}"
            if not target.exists():
                if copy:
                    target.write_bytes(f.read_bytes())
                else:
                    os.link(f, target)
            files.append(target)
    if not (root / "pipeline.config").exists():
        _write_meta(root, "r*-train-*.tfrecord")
    return BenchData(root.name, root, files, base.records * repeats)
