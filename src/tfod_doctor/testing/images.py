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


def draw_scene(width: int, height: int, seed: int = 0) -> Image.Image:
    """A photo-like scene: smooth uneven light, a dozen soft-edged shapes and a fine texture
    (what perceptual hashes see in real photos, unlike :func:`draw_image`'s flat areas)."""
    import numpy as np
    from PIL import ImageFilter

    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width] / max(width, height)
    light = np.empty((height, width, 3))
    for channel in range(3):
        slope_x, slope_y = rng.uniform(-150, 150, 2)
        waves = np.sin(xs * rng.uniform(2, 8) + rng.uniform(0, 6)) * np.cos(ys * rng.uniform(2, 8))
        light[..., channel] = 110 + slope_x * xs + slope_y * ys + 30 * waves
    image = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    reach = max(width, height) // 3
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(reach // 8, reach))
        y1 = y0 + int(rng.integers(reach // 8, reach))
        colour = tuple(int(value) for value in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y0), (x1, y0 + int(rng.integers(-reach // 5, reach // 5))),
                          (x0 + int(rng.integers(-reach // 3, reach // 3)), y1)], fill=colour)
    pixels = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)
    grain = rng.normal(0, 8, (max(1, height // 4), max(1, width // 4)))
    grain_image = Image.fromarray(np.clip(grain + 128, 0, 255).astype(np.uint8))
    texture = np.asarray(grain_image.resize((width, height), Image.Resampling.BILINEAR),
                         dtype=np.float64) - 128
    return Image.fromarray(np.clip(pixels + texture[..., None], 0, 255).astype(np.uint8))


def take_photo(scene: Image.Image, box: tuple[int, int, int, int],
               light: tuple[float, float, float] = (1.0, 0.0, 0.0), seed: int = 0
               ) -> Image.Image:
    """A photo of part of a scene (``box``: left, top, right, bottom), lit by ``light``
    (gain, and its change from left to right and top to bottom), with sensor noise."""
    import numpy as np

    pixels = np.asarray(scene.crop(box), dtype=np.float64)
    height, width = pixels.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width] / max(width, height)
    gain = light[0] + light[1] * xs + light[2] * ys
    noise = np.random.default_rng(seed).normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels * gain[..., None] + noise, 0, 255).astype(np.uint8))
