"""Run the OD API's own dataset tools on a tiny dataset (a child process of test_real_producers).

    PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python python odapi_producers.py JOBS

JOBS is a JSON list of ``[TOOL, OUT, LABEL_MAP, N]``, run in one process (TensorFlow is imported
once); TOOL is ``kitti``, ``coco`` or ``pets``. The images are small real JPEG/PNG files made with
Pillow, the annotations are written in the tool's input format (KITTI label txt, COCO json, pets
VOC xml and trimaps), and the records are written by the tool's own functions. Prints a JSON list:
for each job what was written, or ``{"skip": why}`` when the tool cannot be imported here.

Stand-ins, only for packages not installed here and only for what the tool imports them for:
``contextlib2`` is the backport of the standard ``contextlib`` (the tools use its ExitStack),
and the pets tool imports ``lxml.etree`` to parse its XML files, which this script parses itself
(the standard ``xml.etree.ElementTree``) before calling the tool's ``dict_to_tf_example``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from xml.etree import ElementTree

from PIL import Image, ImageDraw

if importlib.util.find_spec("contextlib2") is None:
    sys.modules["contextlib2"] = contextlib
if importlib.util.find_spec("lxml") is None:
    _lxml = types.ModuleType("lxml")
    _lxml.etree = ElementTree  # type: ignore[attr-defined]
    sys.modules["lxml"], sys.modules["lxml.etree"] = _lxml, ElementTree


def _picture(width: int, height: int, seed: int) -> Image.Image:
    image = Image.new("RGB", (width, height), (40 + seed * 20 % 200, 90, 140))
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 4, height // 4, width // 2, height // 2], fill=(220, 200, 30))
    return image


def kitti(out: Path, label_map: str, validation_set_size: int) -> dict:
    """create_kitti_tf_record.convert_kitti_to_tfrecords over 4 PNG images."""
    from object_detection.dataset_tools import create_kitti_tf_record as tool

    data = out / "kitti"
    labels = data / "training" / "label_2"
    images = data / "data_object_image_2" / "training" / "image_2"
    labels.mkdir(parents=True)
    images.mkdir(parents=True)
    for index in range(4):
        _picture(124, 38, index).save(images / f"{index:06d}.png")
        (labels / f"{index:06d}.txt").write_text(
            "Car 0.00 0 -1.58 10.00 5.00 60.00 30.00 1.65 1.67 3.64 -0.65 1.71 46.70 -1.59\n"
            "Pedestrian 0.30 1 0.21 70.00 4.00 90.00 36.00 1.72 0.50 0.80 2.10 1.60 20.00 0.30\n"
            "DontCare -1 -1 -10 100.00 2.00 120.00 10.00 -1 -1 -1 -1000 -1000 -1000 -10\n")
    prefix = out / "kitti"
    tool.convert_kitti_to_tfrecords(str(data), str(prefix), ["car", "pedestrian", "dontcare"],
                                    label_map, validation_set_size)
    return {"train": f"{prefix}_train.tfrecord", "val": f"{prefix}_val.tfrecord"}


def _coco_document(folder: Path) -> dict:
    """Three images of a COCO subset (person, car, dog; the official ids)."""
    boxes = {1: [(1, [8, 6, 30, 20]), (3, [40, 10, 20, 14])], 2: [(18, [5, 5, 40, 30])],
             3: []}
    images, annotations = [], []
    for image_id, objects in boxes.items():
        name = f"{image_id:012d}.jpg"
        _picture(64, 48, image_id).save(folder / name, format="JPEG")
        images.append({"id": image_id, "file_name": name, "height": 48, "width": 64})
        for category, (x, y, w, h) in objects:
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": category,
                "bbox": [x, y, w, h], "area": float(w * h), "iscrowd": 0,
                "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]]})
    categories = [{"id": 1, "name": "person", "supercategory": "person"},
                  {"id": 3, "name": "car", "supercategory": "vehicle"},
                  {"id": 18, "name": "dog", "supercategory": "animal"}]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco(out: Path, label_map: str, num_shards: int) -> dict:
    """create_coco_tf_record._create_tf_record_from_coco_annotations, with masks."""
    from object_detection.dataset_tools import create_coco_tf_record as tool

    folder = out / "coco_images"
    folder.mkdir(parents=True)
    annotations = out / "instances.json"
    annotations.write_text(json.dumps(_coco_document(folder)))
    prefix = out / "coco_train.record"
    tool._create_tf_record_from_coco_annotations(
        str(annotations), str(folder), str(prefix), True, num_shards)
    return {"train": f"{prefix}-?????-of-{num_shards:05d}", "shards": num_shards}


_PET_XML = """<annotation><folder>OXIIIT</folder><filename>{name}</filename>
<size><width>{width}</width><height>{height}</height><depth>3</depth></size>
<object><name>{animal}</name><pose>Frontal</pose><truncated>0</truncated>
<difficult>0</difficult><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>
<ymax>{y1}</ymax></bndbox></object></annotation>"""


def pets(out: Path, label_map: str, scale: int) -> dict:
    """create_pet_tf_record.dict_to_tf_example over 3 images with trimaps; the XML sizes are
    ``scale`` times the JPEGs' (1: the same size, with masks; else boxes from the XML only, as
    ``faces_only`` does: masks and their boxes come from the trimap's pixels)."""
    import tensorflow.compat.v1 as tf
    from object_detection.dataset_tools import create_pet_tf_record as tool
    from object_detection.utils import dataset_util, label_map_util

    label_map_dict = label_map_util.get_label_map_dict(label_map)
    images, trimaps = out / "images", out / "annotations" / "trimaps"
    images.mkdir(parents=True)
    trimaps.mkdir(parents=True)
    path = out / "pets_train.record"
    with tf.python_io.TFRecordWriter(str(path)) as writer:
        for index, (name, animal) in enumerate([("Abyssinian_1", "cat"),
                                                ("beagle_2", "dog"), ("pug_3", "dog")]):
            _picture(80, 60, index).save(images / f"{name}.jpg", format="JPEG")
            trimap = Image.new("L", (80, 60), 2)
            ImageDraw.Draw(trimap).rectangle([20, 15, 50, 40], fill=1)
            trimap.save(trimaps / f"{name}.png")
            xml = _PET_XML.format(name=f"{name}.jpg", width=80 * scale, height=60 * scale,
                                  animal=animal, x0=20 * scale, y0=15 * scale, x1=50 * scale,
                                  y1=40 * scale)
            data = dataset_util.recursive_parse_xml_to_dict(
                ElementTree.fromstring(xml))["annotation"]
            data["object"] = [data["object"]] if isinstance(data["object"], dict) else \
                data["object"]
            example = tool.dict_to_tf_example(data, str(trimaps / f"{name}.png"),
                                              label_map_dict, str(images),
                                              faces_only=scale != 1)
            writer.write(example.SerializeToString())
    return {"train": str(path)}


TOOLS = {"kitti": kitti, "coco": coco, "pets": pets}


def main() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results = []
    for tool, out, label_map, argument in json.loads(sys.argv[1]):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            results.append(TOOLS[tool](folder, label_map, int(argument)))
        except ImportError as exc:
            results.append({"skip": f"{type(exc).__name__}: {exc}"})
    print(json.dumps(results))


if __name__ == "__main__":
    main()
