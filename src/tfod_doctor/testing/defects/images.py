"""Defects of the encoded images: formats TensorFlow cannot use, truncation, sizes, EXIF."""

from __future__ import annotations

from tfod_doctor.records import Bytes, Ints
from tfod_doctor.testing.builder import Builder, Slot, Stage, defect
from tfod_doctor.testing.images import make_image

IMAGE, FORMAT = "image/encoded", "image/format"


def replace_image(slot: Slot, data: bytes) -> None:
    """Put other image bytes into a record (format and size fields unchanged)."""
    slot.features[IMAGE] = Bytes([data])


def _slot(b: Builder, name: str, key: str = IMAGE) -> Slot:
    slot = b.pick("train")
    b.plant_in(name, slot, key=key)
    return slot


def _redrawn(slot: Slot, fmt: str, mode: str = "RGB", **kwargs) -> bytes:
    return make_image(slot.sample.width, slot.sample.height, fmt, mode, **kwargs)


@defect("tiff_image", Stage.FEATURES)
def tiff_image(b: Builder) -> None:
    """Store a record's image as TIFF."""
    slot = _slot(b, "tiff_image")
    replace_image(slot, _redrawn(slot, "tiff"))


@defect("gif_image", Stage.FEATURES)
def gif_image(b: Builder) -> None:
    """Store a record's image as a (single-frame) GIF."""
    slot = _slot(b, "gif_image")
    replace_image(slot, _redrawn(slot, "gif", "P"))


@defect("truncated_jpeg", Stage.FEATURES)
def truncated_jpeg(b: Builder) -> None:
    """Cut a record's JPEG in the middle of its data."""
    slot = _slot(b, "truncated_jpeg")
    data = _redrawn(slot, "jpeg")
    replace_image(slot, data[: len(data) * 2 // 3])


@defect("wrong_stored_size", Stage.FEATURES)
def wrong_stored_size(b: Builder) -> None:
    """Store image/height 10 pixels taller than the image is."""
    slot = _slot(b, "wrong_stored_size", key="image/height")
    slot.features["image/height"] = Ints([slot.sample.height + 10])


@defect("exif_rotated", Stage.FEATURES)
def exif_rotated(b: Builder) -> None:
    """Store a record's JPEG with EXIF orientation 6 (shown rotated 90° CW)."""
    slot = _slot(b, "exif_rotated")
    replace_image(slot, _redrawn(slot, "jpeg", exif_orientation=6))


@defect("png_declared_jpeg", Stage.FEATURES)
def png_declared_jpeg(b: Builder) -> None:
    """Store a record's image as PNG bytes while image/format says 'jpeg'."""
    slot = _slot(b, "png_declared_jpeg", key=FORMAT)
    replace_image(slot, _redrawn(slot, "png"))
    slot.features[FORMAT] = Bytes(["jpeg"])


@defect("raw_format", Stage.FEATURES)
def raw_format(b: Builder) -> None:
    """Set a record's image/format to 'raw'."""
    slot = _slot(b, "raw_format", key=FORMAT)
    slot.features[FORMAT] = Bytes(["raw"])
