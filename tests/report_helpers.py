"""Reports to render in tests: factory datasets scanned, with dataset statistics in the shape the
rules compute them (the stats contract), and a box-level finding on a real record."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from tfod_doctor import catalogue
from tfod_doctor.api import scan
from tfod_doctor.catalogue import Rule
from tfod_doctor.findings import Location, Severity
from tfod_doctor.records import FeatureView, Record, discover, image_format, open_records
from tfod_doctor.report.model import Report
from tfod_doctor.testing import make_dataset

BOX_RULE = Rule(
    id="B999", name="test-offending-box", severity=Severity.DATA_LOSS,
    summary="A box the test says is wrong.", why="The test needs a box-level finding.",
    fix="Nothing: this rule exists only in tests.", example="box 1 of record 2",
)


def records_of(files: list[str]) -> list[Record]:
    """Every intact record of the files, in order."""
    found = []
    for source in discover(files).sources:
        with open_records(source) as opened:
            found.extend(r for r in opened.records() if isinstance(r, Record))
    return found


def contract_stats(files: list[str], names: dict[int, str]) -> dict[str, Any]:
    """classes, boxes_per_image, box_sizes, box_aspect, image_sizes, image_formats: computed
    here from the records, in the shape the report contract gives them."""
    boxes: Counter[int] = Counter()
    images: Counter[int] = Counter()
    per_image: Counter[str] = Counter()
    sizes, aspects = [], []
    image_sizes: Counter[str] = Counter()
    formats: Counter[str] = Counter()
    for record in records_of(files):
        view = FeatureView.from_payload(record.payload)
        width, height = view.first_int("image/width"), view.first_int("image/height")
        labels = list(view.ints("image/object/class/label"))
        corners = [view.floats(f"image/object/bbox/{k}") for k in ("ymin", "xmin", "ymax", "xmax")]
        per_image[str(len(labels))] += 1
        boxes.update(labels)
        images.update(set(labels))
        for ymin, xmin, ymax, xmax in zip(*corners, strict=True):
            h, w = max(ymax - ymin, 0.0), max(xmax - xmin, 0.0)
            sizes.append(math.sqrt(w * h))
            if w > 0 and h > 0:
                aspects.append(math.log2((w * width) / (h * height)))
        image_sizes[f"{width}x{height}"] += 1
        formats[image_format(view.first_bytes("image/encoded")) or "unknown"] += 1

    def histogram(values: list[float], low: float, high: float) -> dict[str, list]:
        counts, edges = np.histogram(np.clip(values, low, high), bins=20, range=(low, high))
        return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}

    return {
        "classes": [{"id": i, "name": names.get(i), "boxes": boxes[i], "images": images[i]}
                    for i in sorted(boxes)],
        "boxes_per_image": dict(sorted(per_image.items(), key=lambda kv: int(kv[0]))),
        "box_sizes": histogram(sizes, 0.0, 1.0),
        "box_aspect": histogram(aspects, -4.0, 4.0),
        "image_sizes": dict(image_sizes),
        "image_formats": dict(formats),
    }


def box_rule(monkeypatch) -> Rule:
    """Register the test-only box rule for the length of one test."""
    catalogue.all_rules()  # load the catalogue first, then add to it
    monkeypatch.setitem(catalogue._RULES, BOX_RULE.id, BOX_RULE)
    monkeypatch.setitem(catalogue._NAMES, BOX_RULE.name, BOX_RULE.id)
    return BOX_RULE


def demo_report(root: Path, monkeypatch, defects=("bad_payload_crc", "cut_in_header"),
                **dataset: Any) -> tuple[Report, Any]:
    """The demo dataset scanned, with contract stats and one box finding on the first record of
    the second train file that has two boxes or more (box 1 named in its evidence)."""
    options = {"varied": True, "n_train": 24, "n_eval": 8, **dataset}
    ds = make_dataset(root, list(defects), **options)
    report = scan(ds.scan_inputs)
    names = {i + 1: name for i, name in enumerate(ds.classes)}
    report.stats.update(contract_stats([str(p) for p in ds.record_files], names))
    rule = box_rule(monkeypatch)
    target = next(r for r in records_of([str(ds.train_files[1])])
                  if len(FeatureView.from_payload(r.payload).floats("image/object/bbox/xmin")) > 1)
    finding = rule.finding("box 1 is wrong (test)", Location(
        file=target.file, record=target.index, offset=target.offset,
        key="image/object/bbox/xmax"), boxes=[1])
    report.findings.append(finding)
    report.rule_counts[rule.id] = 1
    report.severity_counts[rule.severity] = report.severity_counts.get(rule.severity, 0) + 1
    return report, ds
