"""Test datasets for tfod-doctor's tests, benchmarks and demo: real images, any defect planted.

    >>> from tfod_doctor.testing import make_dataset, defect_names
    >>> ds = make_dataset("ds", defects=["pixel_boxes"])

Defects live in :mod:`tfod_doctor.testing.defects`, one module per family; add one with
``@defect("name", Stage.FEATURES)``. ``tf_oracle`` (imports TensorFlow) is for tests only.
"""

from tfod_doctor.testing.annotations import (
    AnnotatedImage,
    PixelBox,
    Written,
    annotated_images,
    write_coco,
    write_csv,
    write_voc,
    write_yolo,
)
from tfod_doctor.testing.builder import Builder, Planted, Slot, Stage, defect
from tfod_doctor.testing.dataset import Dataset, defect_names, make_dataset
from tfod_doctor.testing.images import make_image
from tfod_doctor.testing.samples import BOX_KEYS, Box, Sample

__all__ = [
    "BOX_KEYS",
    "AnnotatedImage",
    "Box",
    "Builder",
    "Dataset",
    "PixelBox",
    "Planted",
    "Sample",
    "Slot",
    "Stage",
    "Written",
    "annotated_images",
    "defect",
    "defect_names",
    "make_dataset",
    "make_image",
    "write_coco",
    "write_csv",
    "write_voc",
    "write_yolo",
]
