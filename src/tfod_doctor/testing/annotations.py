"""Annotation datasets as the tools write them, with real images: COCO, Pascal VOC, YOLO, CSV.

    >>> images = annotated_images(12, ["cat", "dog"], decimals=2)
    >>> written = write_coco(tmp_path, images, {"cat": 17, "dog": 3})
    >>> written.source, written.expected["1"]   # normalized boxes the records must hold

Each writer lays files out the way its tool does (pycocotools-style COCO JSON, LabelImg's VOC XML,
Ultralytics' YOLO folders and data.yaml, the tutorials' CSV) and returns what a correct converter
must produce: per ``image/source_id``, the normalized boxes and class names, computed from the
values actually written.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfod_doctor.testing.images import make_image

#: Image sizes like those of real photo datasets (COCO's are mostly 640 on the long side).
REAL_SIZES = [(640, 480), (480, 640), (500, 375), (333, 500), (320, 240)]


@dataclass
class PixelBox:
    """A box in pixels (corners), and its class name."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    name: str


@dataclass
class AnnotatedImage:
    """An image file to write, and its boxes in pixels."""

    name: str
    width: int
    height: int
    data: bytes
    boxes: list[PixelBox] = field(default_factory=list)
    image_id: int = 0


#: ``(ymin, xmin, ymax, xmax, class name)``, normalized, as the records must hold them.
ExpectedBox = tuple[float, float, float, float, str]


@dataclass
class Written:
    """A written dataset: the path to convert, and the boxes expected per source id."""

    source: Path
    expected: dict[str, list[ExpectedBox]]
    images_dir: Path | None = None


def annotated_images(
    count: int,
    classes: Sequence[str],
    seed: int = 0,
    sizes: Sequence[tuple[int, int]] = REAL_SIZES,
    formats: Sequence[str] = ("jpeg", "jpeg", "png"),
    max_boxes: int = 4,
    negative_rate: float = 0.1,
    decimals: int = 2,
) -> list[AnnotatedImage]:
    """Images with boxes inside them, coordinates rounded to ``decimals`` (0: whole pixels)."""
    rng = random.Random(seed)
    images = []
    for index in range(count):
        width, height = rng.choice(sizes)
        fmt = rng.choice(list(formats))
        data = make_image(width, height, fmt, seed=rng.randrange(1 << 30))
        boxes = []
        if rng.random() >= negative_rate:
            for _ in range(rng.randint(1, max_boxes)):
                w, h = rng.uniform(0.1, 0.6) * width, rng.uniform(0.1, 0.6) * height
                x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
                x2, y2 = x + w, y + h
                box = [round(v, decimals) if decimals else float(round(v))
                       for v in (x, y, x2, y2)]
                boxes.append(PixelBox(*box, rng.choice(list(classes))))
        extension = "jpg" if fmt == "jpeg" else fmt
        images.append(AnnotatedImage(f"img_{index:04d}.{extension}", width, height, data,
                                     boxes, image_id=1000 + 7 * index))
    return images


def _save_images(folder: Path, images: Sequence[AnnotatedImage]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for image in images:
        (folder / image.name).write_bytes(image.data)


def _expected(image: AnnotatedImage) -> list[ExpectedBox]:
    return [(b.ymin / image.height, b.xmin / image.width, b.ymax / image.height,
             b.xmax / image.width, b.name) for b in image.boxes]


# -- COCO ---------------------------------------------------------------------------------------


def coco_document(images: Sequence[AnnotatedImage], category_ids: Mapping[str, int],
                  supercategory: str = "thing", polygons: bool = False) -> dict:
    """A COCO instances document (pycocotools' layout): bbox ``[x, y, w, h]`` in pixels."""
    annotations = []
    for image in images:
        for box in image.boxes:
            w, h = round(box.xmax - box.xmin, 2), round(box.ymax - box.ymin, 2)
            polygon = [box.xmin, box.ymin, box.xmin + w, box.ymin, box.xmin + w, box.ymin + h]
            annotations.append({
                "id": len(annotations) + 1, "image_id": image.image_id,
                "category_id": category_ids[box.name], "bbox": [box.xmin, box.ymin, w, h],
                "area": round(w * h, 4), "iscrowd": 0,
                "segmentation": [polygon] if polygons else [],
            })
    return {
        "info": {"description": "test set", "version": "1.0", "year": 2024},
        "licenses": [{"id": 1, "name": "CC-BY 4.0", "url": "https://creativecommons.org/"}],
        "images": [{"id": i.image_id, "file_name": i.name, "width": i.width,
                    "height": i.height, "license": 1} for i in images],
        "annotations": annotations,
        "categories": [{"id": cid, "name": name, "supercategory": supercategory}
                       for name, cid in sorted(category_ids.items(), key=lambda kv: kv[1])],
    }


def write_coco(root: Path, images: Sequence[AnnotatedImage], category_ids: Mapping[str, int],
               split: str = "train", polygons: bool = False) -> Written:
    """COCO 2017's layout: ``annotations/instances_<split>.json`` and images in ``<split>/``."""
    _save_images(root / split, images)
    doc = coco_document(images, category_ids, polygons=polygons)
    path = root / "annotations" / f"instances_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    expected = {}
    by_id = {a["image_id"]: [] for a in doc["annotations"]}
    for a in doc["annotations"]:
        by_id[a["image_id"]].append(a)
    names = {cid: name for name, cid in category_ids.items()}
    for image in images:
        boxes = []
        for a in by_id.get(image.image_id, []):
            x, y, w, h = a["bbox"]
            boxes.append((y / image.height, x / image.width, (y + h) / image.height,
                          (x + w) / image.width, names[a["category_id"]]))
        expected[str(image.image_id)] = boxes
    return Written(path, expected, root / split)


# -- Pascal VOC ---------------------------------------------------------------------------------


def voc_xml(image: AnnotatedImage, path: Path) -> str:
    """An annotation file as LabelImg saves it (whole-pixel corners)."""
    objects = "".join(
        "\t<object>\n"
        f"\t\t<name>{box.name}</name>\n"
        "\t\t<pose>Unspecified</pose>\n\t\t<truncated>0</truncated>\n"
        "\t\t<difficult>0</difficult>\n"
        "\t\t<bndbox>\n"
        f"\t\t\t<xmin>{int(box.xmin)}</xmin>\n\t\t\t<ymin>{int(box.ymin)}</ymin>\n"
        f"\t\t\t<xmax>{int(box.xmax)}</xmax>\n\t\t\t<ymax>{int(box.ymax)}</ymax>\n"
        "\t\t</bndbox>\n\t</object>\n"
        for box in image.boxes
    )
    return (
        "<annotation>\n"
        f"\t<folder>{path.parent.name}</folder>\n"
        f"\t<filename>{image.name}</filename>\n"
        f"\t<path>{path}</path>\n"
        "\t<source>\n\t\t<database>Unknown</database>\n\t</source>\n"
        f"\t<size>\n\t\t<width>{image.width}</width>\n\t\t<height>{image.height}</height>\n"
        "\t\t<depth>3</depth>\n\t</size>\n"
        "\t<segmented>0</segmented>\n"
        f"{objects}"
        "</annotation>\n"
    )


def _whole_pixels(images: Sequence[AnnotatedImage]) -> list[AnnotatedImage]:
    """The images with box corners cut to whole pixels, as VOC and CSV files hold them."""
    return [AnnotatedImage(i.name, i.width, i.height, i.data,
                           [PixelBox(int(b.xmin), int(b.ymin), int(b.xmax), int(b.ymax), b.name)
                            for b in i.boxes], i.image_id) for i in images]


def write_voc(root: Path, images: Sequence[AnnotatedImage]) -> Written:
    """LabelImg's layout: one folder with each image and its ``.xml`` beside it."""
    _save_images(root, images)
    for image in images:
        xml_path = (root / image.name).with_suffix(".xml")
        xml_path.write_text(voc_xml(image, root / image.name))
    return Written(root, {i.name: _expected(i) for i in _whole_pixels(images)}, root)


# -- YOLO ---------------------------------------------------------------------------------------


def yolo_line(box: PixelBox, image: AnnotatedImage, class_index: int) -> str:
    """One label line as Ultralytics writes it: ``class cx cy w h`` with ``%g`` values."""
    cx = (box.xmin + box.xmax) / 2 / image.width
    cy = (box.ymin + box.ymax) / 2 / image.height
    w = (box.xmax - box.xmin) / image.width
    h = (box.ymax - box.ymin) / image.height
    return "%g %g %g %g %g" % (class_index, cx, cy, w, h)  # noqa: UP031 - Ultralytics' format


def _from_line(line: str, name: str) -> ExpectedBox:
    _, cx, cy, w, h = (float(v) for v in line.split())
    return cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2, name


def write_yolo(root: Path, splits: Mapping[str, Sequence[AnnotatedImage]],
               classes: Sequence[str], names_as_dict: bool = True) -> Written:
    """Ultralytics' layout: ``images/<split>/``, ``labels/<split>/`` and ``data.yaml``.

    Expected boxes are keyed by the image path relative to the dataset root.
    """
    expected: dict[str, list[ExpectedBox]] = {}
    for split, images in splits.items():
        _save_images(root / "images" / split, images)
        labels = root / "labels" / split
        labels.mkdir(parents=True, exist_ok=True)
        for image in images:
            lines = [yolo_line(b, image, list(classes).index(b.name)) for b in image.boxes]
            if lines:
                (labels / image.name).with_suffix(".txt").write_text("\n".join(lines) + "\n")
            expected[f"images/{split}/{image.name}"] = [
                _from_line(line, box.name) for line, box in zip(lines, image.boxes, strict=True)]
    if names_as_dict:
        names = "names:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(classes))
    else:
        names = f"names: [{', '.join(classes)}]\n"
    yaml_lines = [f"path: {root}\n"] + [f"{key}: images/{split}\n" for key, split in
                                         (("train", "train"), ("val", "val")) if split in splits]
    (root / "data.yaml").write_text("".join(yaml_lines) + f"nc: {len(classes)}\n" + names)
    return Written(root / "data.yaml", expected, root / "images")


# -- CSV ----------------------------------------------------------------------------------------


def write_csv(root: Path, images: Sequence[AnnotatedImage], split: str = "train") -> Written:
    """The tutorials' layout: ``images/<split>/`` and ``images/<split>_labels.csv``.

    Images without boxes cannot be written in this format and are left out.
    """
    folder = root / "images" / split
    kept = [image for image in images if image.boxes]
    _save_images(folder, kept)
    rows = ["filename,width,height,class,xmin,ymin,xmax,ymax"]
    for image in kept:
        for box in image.boxes:
            rows.append(f"{image.name},{image.width},{image.height},{box.name},"
                        f"{int(box.xmin)},{int(box.ymin)},{int(box.xmax)},{int(box.ymax)}")
    path = root / "images" / f"{split}_labels.csv"
    path.write_text("\n".join(rows) + "\n")
    return Written(path, {i.name: _expected(i) for i in _whole_pixels(kept)}, folder)
