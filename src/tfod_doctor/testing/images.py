"""Real encoded images for test datasets: JPEG, PNG, BMP, GIF, WebP, TIFF, in any mode."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

#: Pillow's name for each format tfod-doctor writes.
PIL_FORMATS = {
    "jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP", "tiff": "TIFF",
}
EXIF_ORIENTATION_TAG = 0x0112


def draw_image(width: int, height: int, seed: int = 0, mode: str = "RGB") -> Image.Image:
    """A picture with a few coloured rectangles on a gradient, so codecs have real work."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), (rng.randrange(256), 90, 160))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = rng.randrange(x0, width + 1), rng.randrange(y0, height + 1)
        draw.rectangle((x0, y0, x1, y1), fill=tuple(rng.randrange(256) for _ in range(3)))
    if mode == "I;16":
        return image.convert("L").convert("I;16")
    return image.convert(mode)


def encode_image(image: Image.Image, fmt: str = "jpeg", exif_orientation: int | None = None,
                 quality: int = 85) -> bytes:
    """Encode a Pillow image; ``exif_orientation`` writes an EXIF Orientation tag (JPEG)."""
    buffer = io.BytesIO()
    kwargs: dict = {}
    if fmt == "jpeg":
        kwargs["quality"] = quality
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[EXIF_ORIENTATION_TAG] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    image.save(buffer, format=PIL_FORMATS[fmt], **kwargs)
    return buffer.getvalue()


def make_image(width: int = 64, height: int = 48, fmt: str = "jpeg", mode: str = "RGB",
               seed: int = 0, exif_orientation: int | None = None) -> bytes:
    """Encoded image bytes of the given size, format and mode (``RGB``, ``L``, ``CMYK``,
    ``RGBA``, ``LA``, ``P``, ``I;16``)."""
    return encode_image(draw_image(width, height, seed, mode), fmt, exif_orientation)
