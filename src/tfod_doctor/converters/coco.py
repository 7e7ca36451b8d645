"""COCO instances JSON, as pycocotools reads it: importer, and exporter from records.

Boxes are ``bbox: [x, y, width, height]`` in pixels from the top-left corner; category ids may
have gaps (COCO 2017 uses 1..90 for 80 classes) and are numbered 1..N in the label map unless
``--keep-category-ids``; the manifest keeps the original ids so that ``export coco`` restores them.
Image ids become ``image/source_id`` (as the OD API's ``create_coco_tf_record.py`` does).
"""

from __future__ import annotations

import math
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tfod_doctor.converters.export import ExportOptions, SampleReader, find_manifest
from tfod_doctor.converters.model import (
    BoxFlags,
    CanonicalBox,
    Category,
    Losses,
    Problem,
    ProblemKind,
    Skipped,
    SourceBox,
    SourceCategory,
    SourceData,
    SourceItem,
    Where,
)
from tfod_doctor.converters.options import ConvertOptions
from tfod_doctor.converters.outputs import Progress, load_json, write_json
from tfod_doctor.converters.paths import choose_root
from tfod_doctor.errors import UserError
from tfod_doctor.guard import OutputFolder, Protected

FORMAT = "coco"
_ANNOTATION_KEYS = frozenset({"id", "image_id", "category_id", "bbox", "area", "iscrowd",
                              "segmentation", "keypoints", "num_keypoints", "attributes"})
_IMAGE_KEYS = frozenset({"id", "file_name", "width", "height"})
#: CVAT-style annotation attributes that have an OD API key: attribute -> BoxFlags field.
_ATTRIBUTES = {"occluded": "occluded", "difficult": "difficult", "truncated": "truncated",
               "group_of": "group_of"}
_VIEW_ATTRIBUTES = ("pose", "view")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _categories(raw: Any, path: Path) -> list[SourceCategory]:
    if not isinstance(raw, list):
        raise UserError(f"{path}: \"categories\" must be a list of {{\"id\", \"name\"}} objects")
    found: dict[int, SourceCategory] = {}
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or isinstance(entry.get("id"), bool) or not isinstance(
                entry.get("id"), int) or not isinstance(entry.get("name"), str):
            raise UserError(f"{path}: categories[{index}] needs an integer \"id\" and a string "
                            f"\"name\", it is {str(entry)[:80]}")
        if entry["id"] in found:
            raise UserError(f"{path}: categories[{index}] repeats the category id {entry['id']}")
        supercategory = entry.get("supercategory")
        found[entry["id"]] = SourceCategory(
            entry["id"], entry["name"], supercategory if isinstance(supercategory, str) else None)
    return [found[key] for key in sorted(found)]


def _image_root(path: Path, names: list[str], options: ConvertOptions) -> Path:
    if options.images is not None:
        return options.images
    here = path.parent
    split = path.stem.rsplit("_", 1)[-1]
    return choose_root([here, here / "images", here / "data", here.parent / "images",
                        here.parent / split, here / split], names)


def _ref(file_name: str) -> str:
    return file_name.replace("\\", "/")


class _Reader:
    """Reads one COCO file into a :class:`SourceData`."""

    def __init__(self, path: Path, options: ConvertOptions) -> None:
        self.path = path
        self.file = str(path)
        self.options = options
        self.problems: list[Problem] = []
        self.losses = Losses()
        self.items: dict[Any, SourceItem] = {}
        self.dropped_image_fields: Counter[str] = Counter()
        #: The list being read, for locations: ``images`` or ``annotations``.
        self.section = "images"

    def problem(self, kind: ProblemKind, message: str, index: int, image: str | None = None,
                skipped: Skipped = Skipped.ANNOTATION, boxes: int = 1) -> None:
        where = Where(self.file, index=index, item=f"{self.section}[{index}]")
        self.problems.append(Problem(kind, message, where, image, skipped, boxes))

    def images(self, raw: list[Any], root: Path) -> None:
        for index, entry in enumerate(raw):
            if not isinstance(entry, dict) or not isinstance(entry.get("file_name"), str) or (
                    not isinstance(entry.get("id"), (int, str)) or isinstance(entry["id"], bool)):
                self.problem(ProblemKind.MALFORMED_ANNOTATION,
                             f"images[{index}] needs an \"id\" and a \"file_name\": "
                             f"{str(entry)[:80]}", index, skipped=Skipped.IMAGE, boxes=0)
                continue
            image_id, ref = entry["id"], _ref(entry["file_name"])
            if image_id in self.items:
                self.problem(ProblemKind.DUPLICATE_IMAGE,
                             f"images[{index}] repeats the image id {image_id!r} "
                             f"({self.items[image_id].image_ref!r} has it first)", index, ref,
                             Skipped.IMAGE, boxes=0)
                continue
            width, height = entry.get("width"), entry.get("height")
            declared = ((width, height) if all(isinstance(v, int) and not isinstance(v, bool)
                                               and v > 0 for v in (width, height)) else None)
            self.dropped_image_fields.update(key for key in entry if key not in _IMAGE_KEYS)
            self.items[image_id] = SourceItem(
                image_ref=ref, image_path=str(root / ref), source_id=str(image_id),
                where=Where(self.file, index=index, item=f"images[{index}]"),
                declared_size=declared,
            )

    def annotations(self, raw: list[Any]) -> None:
        self.section = "annotations"
        for index, entry in enumerate(raw):
            if not isinstance(entry, dict):
                self.problem(ProblemKind.MALFORMED_ANNOTATION,
                             f"annotations[{index}] is not an object", index)
                continue
            box = self.box(index, entry)
            if box is None:
                continue
            item = self.items.get(entry.get("image_id"))
            if item is None:
                self.problem(ProblemKind.UNKNOWN_IMAGE,
                             f"annotation id {entry.get('id')} refers to image_id "
                             f"{entry.get('image_id')!r}, which no image has", index)
                continue
            item.boxes.append(box)

    def box(self, index: int, entry: dict[str, Any]) -> SourceBox | None:
        bbox = entry.get("bbox")
        values = [_number(v) for v in bbox] if isinstance(bbox, list) else []
        label = f"annotation id {entry.get('id')}"
        if len(values) != 4 or any(v is None for v in values):
            self.problem(ProblemKind.MALFORMED_ANNOTATION,
                         f"{label}: bbox must be 4 finite numbers [x, y, width, height], "
                         f"it is {str(bbox)[:60]}", index)
            return None
        category = entry.get("category_id")
        if not isinstance(category, int) or isinstance(category, bool):
            self.problem(ProblemKind.MALFORMED_ANNOTATION,
                         f"{label}: category_id must be an integer, it is {category!r}", index)
            return None
        x, y, w, h = (float(v) for v in values)  # type: ignore[arg-type]
        flags = BoxFlags(is_crowd=bool(entry.get("iscrowd", 0)), area=_number(entry.get("area")))
        self.count_losses(entry, flags)
        return SourceBox(x, y, x + w, y + h, category,
                         Where(self.file, index=index, item=f"annotations[{index}]"),
                         flags=flags, text=f"{label} bbox [{_fmt(x)}, {_fmt(y)}, {_fmt(w)}, "
                         f"{_fmt(h)}]")

    def count_losses(self, entry: dict[str, Any], flags: BoxFlags) -> None:
        segmentation = entry.get("segmentation")
        if isinstance(segmentation, dict):
            self.losses.add("segmentation masks (RLE)")
        elif isinstance(segmentation, list) and any(segmentation):
            self.losses.add("segmentation polygons")
        keypoints = entry.get("keypoints")
        if isinstance(keypoints, list) and any(keypoints[2::3]):
            self.losses.add("keypoints")
        attributes = entry.get("attributes")
        if isinstance(attributes, dict):
            for name, value in attributes.items():
                if name in _ATTRIBUTES:
                    setattr(flags, _ATTRIBUTES[name], bool(value))
                elif name in _VIEW_ATTRIBUTES and isinstance(value, str):
                    flags.view = value
                elif name == "rotation" and not value:
                    continue
                else:
                    self.losses.add(f"annotation attribute {name!r}")
        elif attributes not in (None, [], {}):
            self.losses.add("annotation attributes")
        for key in entry:
            if key not in _ANNOTATION_KEYS:
                self.losses.add(f"annotation field {key!r}")


def _fmt(value: float) -> str:
    return f"{value:g}"


def _drop_umbrellas(categories: list[SourceCategory], items: list[SourceItem],
                    file: str) -> tuple[list[SourceCategory], list[Problem]]:
    """Leave out Roboflow-style umbrella categories: unused, and the supercategory of others."""
    used = {box.category for item in items for box in item.boxes}
    parents = {c.supercategory for c in categories}
    kept, problems = [], []
    for category in categories:
        if category.key not in used and category.name in parents and len(categories) > 1:
            problems.append(Problem(
                ProblemKind.DROPPED_CATEGORY,
                f"category {category.key} {category.name!r} has no annotations and is the "
                "supercategory of the others (an exporter's dataset name): left out of the "
                "label map", Where(file), skipped=Skipped.NOTHING))
            continue
        kept.append(category)
    return kept, problems


def load(path: Path, options: ConvertOptions) -> SourceData:
    """Read a COCO instances JSON file."""
    doc = load_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise UserError(f"{path} is not a COCO instances file: it needs an \"images\" list, "
                        "an \"annotations\" list and a \"categories\" list")
    if "categories" not in doc:
        raise UserError(f"{path} has no \"categories\" list: COCO files declare their classes")
    categories = _categories(doc["categories"], path)
    raw_annotations = doc.get("annotations", [])
    if not isinstance(raw_annotations, list):
        raise UserError(f"{path}: \"annotations\" must be a list")
    names = [_ref(e["file_name"]) for e in doc["images"]
             if isinstance(e, dict) and isinstance(e.get("file_name"), str)]
    reader = _Reader(path, options)
    reader.images(doc["images"], _image_root(path, names, options))
    reader.annotations(raw_annotations)
    items = list(reader.items.values())
    categories, dropped = _drop_umbrellas(categories, items, str(path))
    notes = []
    if "annotations" not in doc:
        notes.append(f"{path} has no \"annotations\": every image is converted without boxes")
    if reader.dropped_image_fields:
        fields = ", ".join(sorted(reader.dropped_image_fields))
        notes.append(f"image fields not stored in records: {fields}")
    notes.append("annotation ids are not stored in records (export numbers them 1..N)")
    return SourceData(
        format=FORMAT, sources=[str(path)], categories=categories, items=items,
        problems=reader.problems + dropped, losses=reader.losses,
        extras={"info": doc.get("info"), "licenses": doc.get("licenses")}, notes=notes,
    )


# -- export ---------------------------------------------------------------------------------------


def to_pixels(normalized: float, size: int) -> float:
    """A stored (float32) normalized coordinate back in pixels.

    The shortest decimal (up to 6 places) that the writer would have stored as the same float32
    is returned, so that pixel values with few decimals — what annotation tools write — come back
    exactly; anything else comes back within float32's resolution.
    """
    target = np.float32(normalized)
    exact = float(target) * size
    for digits in range(7):
        candidate = round(exact, digits)
        if np.float32(candidate / size) == target:
            return candidate + 0.0
    return exact


def to_span(start: float, normalized_end: float, size: int) -> float:
    """The width (or height) in pixels from a restored start and the stored normalized end."""
    target = np.float32(normalized_end)
    exact = float(target) * size - start
    for digits in range(7):
        candidate = round(exact, digits)
        if np.float32((start + candidate) / size) == target:
            return candidate + 0.0
    return exact


def _float32_value(value: float) -> float:
    """The shortest decimal that is the same float32 (areas are stored as float32)."""
    return float(str(np.float32(value)))


def _safe_name(filename: str, fallback: str, used: set[str]) -> str:
    """A relative file name under ``images/`` that cannot escape it and is not taken yet."""
    parts = [p for p in filename.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    name = "/".join(parts) or fallback
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    candidate, number = name, 1
    while candidate.lower() in used:
        candidate = f"{stem}_{number}{'.' + suffix if suffix else ''}"
        number += 1
    used.add(candidate.lower())
    return candidate


_EXTENSIONS = {"jpeg": "jpg", "png": "png", "bmp": "bmp", "gif": "gif", "webp": "webp",
               "tiff": "tif"}


@dataclass
class ExportResult:
    """What an export wrote, and what it had to leave out."""

    format: str
    records: list[str]
    out: Path
    annotations_file: Path
    images_dir: Path
    images: int
    annotations: int
    categories: list[dict[str, Any]]
    problems: list[Problem]
    losses: Losses
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every record was exported, 1 when some were skipped."""
        return 1 if any(not p.is_note for p in self.problems) else 0


class _CategoryTable:
    """COCO categories for an export: from the conversion manifest, or from the records."""

    def __init__(self, manifest: dict[str, Any] | None,
                 label_map: Sequence[tuple[int, str]] | None = None) -> None:
        self.from_manifest = manifest is not None or label_map is not None
        self.entries: dict[int, dict[str, Any]] = {}
        if manifest is None:
            for label, name in label_map or ():
                self.entries[label] = {"id": label, "name": name}
            return
        restore = manifest.get("format") == FORMAT
        for raw in manifest["categories"]:
            category = Category.from_dict(raw)
            coco_id = category.source_id if restore and isinstance(category.source_id, int) \
                else category.id
            entry: dict[str, Any] = {"id": coco_id, "name": category.name}
            if category.supercategory is not None:
                entry["supercategory"] = category.supercategory
            self.entries[category.id] = entry

    @property
    def names(self) -> dict[int, str] | None:
        """Label id -> name, for records without class/text."""
        return {label: e["name"] for label, e in self.entries.items()} if self.entries else None

    def coco_id(self, label: int, text: str) -> int | None:
        """The COCO category id of a box; ``None`` when the manifest does not know the label."""
        entry = self.entries.get(label)
        if entry is None:
            if self.from_manifest:
                return None
            entry = self.entries[label] = {"id": label, "name": text}
        return entry["id"]

    def to_list(self) -> list[dict[str, Any]]:
        """The ``categories`` of the COCO file, by id."""
        return sorted(self.entries.values(), key=lambda e: e["id"])


def _annotation(box: CanonicalBox, width: int, height: int) -> dict[str, Any]:
    x, y = to_pixels(box.xmin, width), to_pixels(box.ymin, height)
    w, h = to_span(x, box.xmax, width), to_span(y, box.ymax, height)
    area = _float32_value(box.flags.area) if box.flags.area is not None else w * h
    entry: dict[str, Any] = {"bbox": [x, y, w, h], "area": area,
                             "iscrowd": int(box.flags.is_crowd), "segmentation": []}
    attributes: dict[str, Any] = {}
    for name in ("occluded", "difficult", "truncated", "group_of"):
        if getattr(box.flags, name):
            attributes[name] = True
    if box.flags.view not in ("", "Unspecified"):
        attributes["pose"] = box.flags.view
    if box.flags.weight is not None and box.flags.weight != 1.0:
        attributes["weight"] = _float32_value(box.flags.weight)
    if attributes:
        entry["attributes"] = attributes
    return entry


def _image_ids(source_ids: list[str]) -> list[int]:
    """COCO image ids: the source ids when they are distinct integers, else 1..N."""
    try:
        ids = [int(s) for s in source_ids]
    except ValueError:
        ids = []
    if ids and len(set(ids)) == len(ids) and all(
            str(i) == s for i, s in zip(ids, source_ids, strict=True)):
        return ids
    return list(range(1, len(source_ids) + 1))


def export(records: Sequence[str], out: Path, options: ExportOptions,
           progress: Progress | None = None) -> ExportResult:
    """Write records as ``annotations.json`` (COCO instances) and ``images/`` under ``out``."""
    reader = SampleReader(records, options)
    reader.progress = progress
    # A label map named on its own replaces the manifest that would be found beside the records.
    manifest = (find_manifest(reader.sources, options.manifest)
                if options.label_map is None or options.manifest is not None else None)
    table = _CategoryTable(manifest, options.label_map)
    reader.names = table.names
    protected = (Protected.of(records, walked=True) | Protected.of(
        [options.manifest, *options.inputs, *(s.path for s in reader.sources)]))
    with OutputFolder(out, [ANNOTATIONS, "images"], protected, overwrite=options.overwrite):
        staging = out / ".export.partial"
        try:
            images, annotations = _write_images(reader, table, staging)
            if reader.losses and not options.allow_lossy:
                raise UserError("this export would lose what COCO cannot hold:\n" + "\n".join(
                    f"  - {line}" for line in reader.losses.describe())
                    + "\nPass --allow-lossy to export anyway.")
            doc = _document(manifest, images, annotations, table)
            write_json(staging / ANNOTATIONS, doc)
            os.replace(staging / ANNOTATIONS, out / ANNOTATIONS)
            os.replace(staging / "images", out / "images")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    notes = [] if manifest is not None or options.label_map is not None else [
        "no conversion.json beside the records: category ids are the records' label ids"]
    return ExportResult(FORMAT, [s.name for s in reader.sources], out, out / ANNOTATIONS,
                        out / "images", len(doc["images"]), len(doc["annotations"]),
                        doc["categories"], reader.problems, reader.losses, notes)


ANNOTATIONS = "annotations.json"


def _write_images(reader: SampleReader, table: _CategoryTable, staging: Path
                  ) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]]]:
    folder = staging / "images"
    folder.mkdir(parents=True)
    used: set[str] = set()
    images: list[dict[str, Any]] = []
    annotations: list[tuple[int, dict[str, Any]]] = []
    for read in reader:
        sample = read.sample
        fallback = f"{len(images) + 1:06d}.{_EXTENSIONS.get(sample.format, sample.format)}"
        name = _safe_name(sample.filename, fallback, used)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample.image)
        images.append({"source_id": sample.source_id, "file_name": name,
                       "width": sample.width, "height": sample.height})
        for number, box in enumerate(sample.boxes):
            coco_id = table.coco_id(box.label, box.text)
            if coco_id is None:
                reader.report(Problem(ProblemKind.UNKNOWN_CATEGORY,
                                      f"box {number}: label {box.label} ({box.text!r}) is not "
                                      "among the categories of the manifest or label map",
                                      read.where, sample.filename))
                continue
            entry = {"category_id": coco_id, **_annotation(box, sample.width, sample.height)}
            annotations.append((len(images) - 1, entry))
    return images, annotations


def _document(manifest: dict[str, Any] | None, images: list[dict[str, Any]],
              annotations: list[tuple[int, dict[str, Any]]], table: _CategoryTable
              ) -> dict[str, Any]:
    extras = (manifest or {}).get(FORMAT) or {}
    ids = _image_ids([image["source_id"] for image in images])
    keep_source = ids == list(range(1, len(images) + 1)) and any(
        image["source_id"] != str(i) for i, image in zip(ids, images, strict=True))
    coco_images = []
    for image_id, image in zip(ids, images, strict=True):
        entry = {"id": image_id, "file_name": image["file_name"], "width": image["width"],
                 "height": image["height"]}
        if keep_source:
            entry["source_id"] = image["source_id"]
        coco_images.append(entry)
    order = sorted(range(len(coco_images)), key=lambda i: coco_images[i]["id"])
    rank = {index: position for position, index in enumerate(order)}
    coco_annotations = []
    for number, (image_index, entry) in enumerate(
            sorted(annotations, key=lambda pair: rank[pair[0]]), start=1):
        coco_annotations.append({"id": number, "image_id": ids[image_index], **entry})
    return {
        "info": extras.get("info") or {"description": "exported by tfod-doctor"},
        "licenses": extras.get("licenses") or [],
        "images": [coco_images[i] for i in order],
        "annotations": coco_annotations,
        "categories": table.to_list(),
    }
