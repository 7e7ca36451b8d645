"""Keys that well-known record writers add on purpose, though the OD API decoder never reads them.

The OD API's own KITTI tool writes each object's observation angle and 3D box; TensorFlow
Datasets and the Model Garden write ids, captions and panoptic masks of their own. Such a key is
information, not a misspelling: its name may be close to an OD API key (``alpha`` and ``area``,
``3d_bbox/height`` and ``height``), but it holds something else.
"""

from __future__ import annotations

from dataclasses import dataclass

_KITTI = "the OD API's KITTI tool (create_kitti_tf_record.py)"
_TFDS = "TensorFlow Datasets"
_GARDEN = "the Model Garden (official/vision)"


@dataclass(frozen=True)
class Producer:
    """Who writes a key on purpose, and what it holds."""

    writer: str
    holds: str


#: Whole keys, by writer.
_KEYS: dict[str, Producer] = {
    "image/object/alpha": Producer(_KITTI, "each object's observation angle"),
    "image/object/occluded": Producer(_KITTI, "each object's occlusion state"),
    "image/object/truncated": Producer(_KITTI, "how much of each object is cut off"),
    "image/id": Producer(_TFDS, "the dataset's image id"),
    "objects/id": Producer(_TFDS, "the dataset's annotation ids"),
    "objects/area": Producer(_TFDS, "COCO's annotation areas"),
    "objects/is_crowd": Producer(_TFDS, "COCO's crowd flags"),
    "objects/is_truncated": Producer(_TFDS, "VOC's truncated flags"),
    "objects/is_difficult": Producer(_TFDS, "VOC's difficult flags"),
    "objects/pose": Producer(_TFDS, "VOC's object poses"),
    "labels_no_difficult": Producer(_TFDS, "VOC's image-level classes without difficult ones"),
    "image/caption": Producer(_GARDEN, "COCO captions"),
    "image/segmentation/class/encoded": Producer(_GARDEN, "a semantic segmentation mask"),
    "image/segmentation/class/format": Producer(_GARDEN, "the segmentation mask's format"),
}
#: Key prefixes, by writer.
_PREFIXES: dict[str, Producer] = {
    "image/object/3d_bbox/": Producer(_KITTI, "each object's 3D box"),
    "image/panoptic/": Producer(_GARDEN, "panoptic segmentation masks"),
    "panoptic_objects/": Producer(_TFDS, "COCO panoptic annotations"),
}


def producer_of(key: str) -> Producer | None:
    """The well-known writer that adds ``key`` on purpose, or ``None``."""
    found = _KEYS.get(key)
    if found is not None:
        return found
    for prefix, producer in _PREFIXES.items():
        if key.startswith(prefix):
            return producer
    return None
