"""Reading images for conversion: size from the header, EXIF orientation, re-encoding.

TensorFlow's decoders ignore the EXIF orientation tag, while most annotation tools (and
Ultralytics) show — and so annotate — the rotated image. ``--exif`` decides which frame the boxes
belong to (:class:`ExifMode`); when it is the rotated one, the rotation is baked into the pixels so
that TensorFlow sees what the annotator saw. Image bytes are otherwise kept as they are, unless
TensorFlow cannot decode them (GIF, WebP, TIFF...) or ``--reencode`` asks for one format.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import Enum

import numpy as np
import simplejpeg
from PIL import Image, ImageOps, UnidentifiedImageError

from tfod_doctor.records import image_format

#: Formats whose bytes the OD API decodes into a 3-D image (GIF and WebP come out 4-D).
TF_DECODABLE = frozenset({"jpeg", "png", "bmp"})
EXIF_ORIENTATION = 0x0112
#: Orientations that swap width and height (a 90° or 270° turn, with or without a mirror).
_TRANSPOSING = frozenset({5, 6, 7, 8})
_PNG_END = b"IEND\xaeB`\x82"
_PIL_SAVE_NAMES = {"jpeg": "JPEG", "png": "PNG", "bmp": "BMP"}


class ImageError(ValueError):
    """The bytes are not an image we can read."""


class ExifMode(str, Enum):
    """Which frame the boxes were drawn in when an image carries an EXIF rotation.

    ``auto``: the frame whose size the annotations declare (VOC ``<size>``, COCO ``width`` and
    ``height``, the CSV columns); without a declared size, or when both frames have the same
    size, the rotated (displayed) frame, as annotation tools and Ultralytics show it.
    ``apply``: always the rotated frame. ``ignore``: always the stored pixels, as TensorFlow
    decodes them.
    """

    AUTO = "auto"
    APPLY = "apply"
    IGNORE = "ignore"


class Reencode(str, Enum):
    """What image bytes to store: the original ones, or every image as JPEG or PNG."""

    KEEP = "keep"
    JPEG = "jpeg"
    PNG = "png"


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says: format, stored size, EXIF orientation (1 = none)."""

    format: str
    width: int
    height: int
    orientation: int = 1

    @property
    def displayed_size(self) -> tuple[int, int]:
        """The size a viewer that applies the EXIF rotation shows."""
        if self.orientation in _TRANSPOSING:
            return self.height, self.width
        return self.width, self.height


@dataclass(frozen=True)
class PreparedImage:
    """An image ready to be stored in a record, and what was done to it."""

    data: bytes
    format: str
    width: int
    height: int
    #: The EXIF orientation of the source image (1: none).
    orientation: int = 1
    #: Whether the EXIF rotation was baked into the pixels.
    rotated: bool = False
    #: Why the bytes were re-encoded (``None``: the original bytes are kept).
    reencoded: str | None = None
    #: A note on an assumption made about the image (which frame the boxes are in).
    note: str | None = None


@dataclass(frozen=True)
class ImageOptions:
    """How to treat images: EXIF handling, re-encoding, and full-decode verification."""

    exif: ExifMode = ExifMode.AUTO
    reencode: Reencode = Reencode.KEEP
    quality: int = 95
    verify: bool = False


def _orientation(image: Image.Image) -> int:
    try:
        value = int(image.getexif().get(EXIF_ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        head = data[:8].hex(" ")
        raise ImageError(f"not an image file of a known format (it starts with {head})"
                         ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"not an image Pillow can read ({exc})") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(str(exc)) from None


def probe(data: bytes) -> ImageInfo:
    """Format, size and orientation from the header only (no pixel decoding)."""
    if not data:
        raise ImageError("the file is empty")
    fmt = image_format(data)
    if fmt == "jpeg":
        try:
            height, width, _, _ = simplejpeg.decode_jpeg_header(data)
        except (ValueError, RuntimeError):
            pass
        else:
            orientation = 1
            if b"Exif\x00\x00" in data[:65536]:
                orientation = _orientation(_open(data))
            return ImageInfo("jpeg", int(width), int(height), orientation)
    image = _open(data)
    width, height = image.size
    name = fmt or (image.format or "unknown").lower()
    return ImageInfo(name, int(width), int(height), _orientation(image))


def looks_complete(data: bytes, fmt: str) -> bool:
    """A cheap check that the file is not cut short: JPEG ends with EOI, PNG with IEND."""
    if fmt == "jpeg":
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    if fmt == "png":
        return data.endswith(_PNG_END)
    return True


def verify(data: bytes) -> None:
    """Decode every pixel; :class:`ImageError` if the image is damaged or cut short."""
    image = _open(data)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"the image cannot be decoded ({exc})") from None


def _to_mode(image: Image.Image, fmt: str) -> Image.Image:
    """The image in a mode ``fmt`` can store, converted the way TensorFlow would read it."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit to 8-bit as TensorFlow's PNG decoder does with channels=3: keep the high byte.
        pixels = np.asarray(image, dtype=np.uint32) >> 8
        image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8), "L")
    keep = {"jpeg": ("RGB", "L"), "png": ("RGB", "RGBA", "L", "LA", "P"),
            "bmp": ("RGB", "L", "P")}[fmt]
    if image.mode in keep:
        return image
    if image.mode == "PA" and fmt == "png":
        return image.convert("RGBA")
    return image.convert("RGB")


def encode(image: Image.Image, fmt: str, quality: int = 95) -> bytes:
    """Encode a Pillow image as ``jpeg``, ``png`` or ``bmp`` (deterministic bytes, no EXIF)."""
    image = _to_mode(image, fmt)
    buffer = io.BytesIO()
    kwargs: dict = {}
    if fmt == "jpeg":
        kwargs = {"quality": quality}
    if image.info.get("icc_profile"):
        kwargs["icc_profile"] = image.info["icc_profile"]
    image.save(buffer, format=_PIL_SAVE_NAMES[fmt], **kwargs)
    return buffer.getvalue()


def _bake_rotation(info: ImageInfo, declared: tuple[int, int] | None, mode: ExifMode
                   ) -> tuple[bool, str | None]:
    """Whether to bake the EXIF rotation into the pixels, and a note when that was a guess."""
    if info.orientation == 1 or mode is ExifMode.IGNORE:
        return False, None
    if mode is ExifMode.APPLY or declared is None:
        return True, None
    stored, displayed = (info.width, info.height), info.displayed_size
    if declared == displayed and declared != stored:
        return True, None
    if declared == stored and declared != displayed:
        return False, None
    return True, (
        f"EXIF orientation {info.orientation}: the declared size {declared[0]}×{declared[1]} "
        "does not tell which frame the boxes were drawn in; assumed the rotated (displayed) "
        "frame. Use --exif ignore if the annotation tool showed the stored pixels"
    )


def _target_format(info: ImageInfo, options: ImageOptions) -> tuple[str, str | None]:
    """The format to store and why the bytes must be re-encoded (``None``: keep them)."""
    if options.reencode is not Reencode.KEEP:
        wanted = options.reencode.value
        return wanted, None if info.format == wanted else f"--reencode {wanted}"
    if info.format in TF_DECODABLE:
        return info.format, None
    return "png", f"TensorFlow cannot decode {info.format.upper()} images"


def prepare(data: bytes, declared: tuple[int, int] | None, options: ImageOptions
            ) -> PreparedImage:
    """The bytes to store for one image, with its size as TensorFlow will decode it."""
    info = probe(data)
    if options.verify or not looks_complete(data, info.format):
        verify(data)
    rotate, note = _bake_rotation(info, declared, options.exif)
    fmt, reason = _target_format(info, options)
    if rotate:
        reason = f"EXIF orientation {info.orientation} baked into the pixels"
    if reason is None:
        return PreparedImage(data, info.format, info.width, info.height, info.orientation)
    image = _open(data)
    try:
        image.load()
        if rotate:
            image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"the image cannot be decoded ({exc})") from None
    encoded = encode(image, fmt, options.quality)
    return PreparedImage(encoded, fmt, image.width, image.height, info.orientation,
                         rotated=rotate, reencoded=reason, note=note)
