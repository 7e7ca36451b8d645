"""Samples (an image and its boxes) and the OD API feature dict they are written as."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.records import Bytes, Floats, Ints
from tfod_doctor.testing.images import make_image

#: The feature keys of a box list, in the order the OD API assembles a box.
BOX_KEYS = (
    "image/object/bbox/ymin",
    "image/object/bbox/xmin",
    "image/object/bbox/ymax",
    "image/object/bbox/xmax",
)


@dataclass
class Box:
    """A box in normalized [ymin, xmin, ymax, xmax] with its class id and name."""

    ymin: float
    xmin: float
    ymax: float
    xmax: float
    label: int
    text: str


@dataclass
class Sample:
    """One image with its boxes, as a dataset creation script sees it."""

    image: bytes
    width: int
    height: int
    format: str
    filename: str
    source_id: str
    boxes: list[Box] = field(default_factory=list)

    def features(self) -> dict[str, Any]:
        """The feature dict the OD API's own creation scripts write (``Floats``/``Ints``/...)."""
        return {
            "image/height": Ints([self.height]),
            "image/width": Ints([self.width]),
            "image/filename": Bytes([self.filename]),
            "image/source_id": Bytes([self.source_id]),
            "image/key/sha256": Bytes([hashlib.sha256(self.image).hexdigest()]),
            "image/encoded": Bytes([self.image]),
            "image/format": Bytes([self.format]),
            "image/object/bbox/ymin": Floats([b.ymin for b in self.boxes]),
            "image/object/bbox/xmin": Floats([b.xmin for b in self.boxes]),
            "image/object/bbox/ymax": Floats([b.ymax for b in self.boxes]),
            "image/object/bbox/xmax": Floats([b.xmax for b in self.boxes]),
            "image/object/class/text": Bytes([b.text for b in self.boxes]),
            "image/object/class/label": Ints([b.label for b in self.boxes]),
        }


def random_box(rng: random.Random, classes: list[str], min_side: float = 0.1) -> Box:
    """A valid normalized box of a random class (ids are 1-based, as the label map's)."""
    height = rng.uniform(min_side, 0.6)
    width = rng.uniform(min_side, 0.6)
    ymin = rng.uniform(0.0, 1.0 - height)
    xmin = rng.uniform(0.0, 1.0 - width)
    label = rng.randrange(len(classes)) + 1
    return Box(round(ymin, 4), round(xmin, 4), round(ymin + height, 4), round(xmin + width, 4),
               label, classes[label - 1])


def random_sample(
    rng: random.Random,
    index: int,
    classes: list[str],
    sizes: list[tuple[int, int]],
    formats: list[tuple[str, str]],
    max_boxes: int = 4,
    negative_rate: float = 0.0,
    prefix: str = "img",
) -> Sample:
    """A sample with a real image of a random size, format and mode, and 0..max_boxes boxes."""
    width, height = rng.choice(sizes)
    fmt, mode = rng.choice(formats)
    image = make_image(width, height, fmt, mode, seed=rng.randrange(1 << 30))
    negative = rng.random() < negative_rate
    count = 0 if negative else rng.randint(1, max_boxes)
    boxes = [random_box(rng, classes) for _ in range(count)]
    extension = "jpg" if fmt == "jpeg" else fmt
    name = f"{prefix}_{index:05d}.{extension}"
    return Sample(image, width, height, fmt, name, name, boxes)
