"""Pictures of records: the image as TensorFlow decodes it, with its boxes and labels drawn.

One piece of drawing code for the HTML report's thumbnails, the notebook view and
``tfod-doctor show``. Boxes are drawn where the OD API puts them: normalized ``[ymin, xmin, ymax,
xmax]`` times the decoded image size, without EXIF rotation (TensorFlow ignores it). Boxes outside
the image are clipped to its edge, so pixel coordinates show up piled in a corner, as training
sees them.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from tfod_doctor.records import FeatureView

#: The feature keys of a box, in the order the OD API assembles it.
BOX_KEYS = (
    "image/object/bbox/ymin",
    "image/object/bbox/xmin",
    "image/object/bbox/ymax",
    "image/object/bbox/xmax",
)
LABEL_KEY = "image/object/class/label"
TEXT_KEY = "image/object/class/text"
IMAGE_KEY = "image/encoded"

#: The longest side of a thumbnail in the HTML report, in pixels.
THUMB_SIDE = 240
#: Small images are enlarged up to this factor, so their boxes stay visible.
MAX_UPSCALE = 4.0
#: A grid cell is at least this many pixels wide, so that its caption can be read.
MIN_CELL = 96
BAD = (255, 23, 68)
PALETTE = (
    (0, 184, 212), (255, 196, 0), (118, 255, 3), (213, 0, 249), (41, 121, 255),
    (255, 145, 0), (29, 233, 182), (198, 255, 0), (140, 158, 255), (124, 77, 255),
)


@dataclass(frozen=True)
class DrawnBox:
    """One box of a record: normalized corners, its class id and its class text (if any)."""

    ymin: float
    xmin: float
    ymax: float
    xmax: float
    label: int | None = None
    text: str | None = None

    @property
    def finite(self) -> bool:
        """Whether every corner is a number (NaN boxes cannot be drawn)."""
        return all(math.isfinite(v) for v in (self.ymin, self.xmin, self.ymax, self.xmax))


def boxes_of(view: FeatureView) -> list[DrawnBox]:
    """The boxes of a record, as many as all four corner lists have."""
    corners = [view.floats(key) for key in BOX_KEYS]
    labels = view.ints(LABEL_KEY)
    texts = view.bytes_list(TEXT_KEY)
    count = min(len(c) for c in corners)
    return [
        DrawnBox(
            *(float(c[i]) for c in corners),
            label=int(labels[i]) if i < len(labels) else None,
            text=texts[i].decode("utf-8", "replace") if i < len(texts) else None,
        )
        for i in range(count)
    ]


def box_name(box: DrawnBox, names: Mapping[int, str] | None) -> str:
    """What to write on a box: its label-map name, else its class text, else its id."""
    if box.label is not None and names and box.label in names:
        return names[box.label]
    if box.text:
        return box.text
    if box.label is not None:
        return f"id {box.label}" + ("?" if names else "")
    return "?"


def decode_image(data: bytes, max_side: int | None = None) -> Image.Image | None:
    """Decode image bytes to RGB as TensorFlow sees them (no EXIF rotation); ``None`` if they
    do not decode. ``max_side`` lets JPEG decode at a reduced scale (fast for large photos)."""
    if not data:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        if max_side and image.format == "JPEG":
            image.draft("RGB", (max_side, max_side))
        image.load()
        return _to_rgb(image)
    except Exception:  # damaged image bytes make decoders raise all kinds of errors
        return None


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        scale = 1 / 256 if image.mode.startswith("I;16") else 1.0
        image = image.point(lambda v: v * scale).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, image).convert("RGB")
    return image.convert("RGB")


def _placeholder(width: int, height: int, note: str) -> Image.Image:
    image = Image.new("RGB", (width, height), (64, 64, 72))
    draw = ImageDraw.Draw(image)
    draw.text((6, 6), note, fill=(255, 255, 255), font=_font(12))
    return image


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size
        return ImageFont.load_default()


def _scaled(image: Image.Image, max_side: int) -> Image.Image:
    factor = min(max_side / max(image.size), MAX_UPSCALE)
    if abs(factor - 1) < 0.01:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    resample = Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.NEAREST
    return image.resize(size, resample)


def record_image(view: FeatureView, max_side: int) -> Image.Image:
    """The record's image scaled to ``max_side``, or a grey placeholder saying why there is none."""
    data = view.first_bytes(IMAGE_KEY)
    image = decode_image(data, max_side)
    if image is not None:
        return _scaled(image, max_side)
    stored = (view.first_int("image/width"), view.first_int("image/height"))
    width, height = stored if all(v and 0 < v < 100_000 for v in stored) else (4, 3)
    scale = max_side / max(width, height)
    note = "no image/encoded" if not data else "the image does not decode"
    return _placeholder(max(round(width * scale), 120), max(round(height * scale), 60), note)


def _pixel_rect(box: DrawnBox, width: int, height: int) -> tuple[float, float, float, float]:
    """The box in pixels, corners sorted and clipped to the image (what training sees)."""

    def clip(value: float, limit: int) -> float:
        return min(max(value * limit, 0.0), limit - 1.0)

    x0, x1 = sorted((clip(box.xmin, width), clip(box.xmax, width)))
    y0, y1 = sorted((clip(box.ymin, height), clip(box.ymax, height)))
    return x0, y0, x1, y1


def draw_boxes(
    image: Image.Image,
    boxes: Sequence[DrawnBox],
    names: Mapping[int, str] | None = None,
    bad: Collection[int] = (),
) -> Image.Image:
    """Draw boxes with their names on ``image`` (in place); boxes whose index is in ``bad`` are
    drawn thick and red, the others thinner in a colour per class."""
    draw = ImageDraw.Draw(image)
    font = _font(max(10, min(14, image.width // 18)))
    order = sorted(range(len(boxes)), key=lambda i: i in bad)  # bad boxes on top
    for i in order:
        box = boxes[i]
        if not box.finite:
            continue
        is_bad = i in bad
        colour = BAD if is_bad else PALETTE[(box.label or 0) % len(PALETTE)]
        x0, y0, x1, y1 = _pixel_rect(box, image.width, image.height)
        width = 3 if is_bad else 2
        draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=(0, 0, 0), width=1)
        draw.rectangle((x0, y0, x1, y1), outline=colour, width=width)
        _label(draw, font, box_name(box, names), colour, x0, y0, image.height)
    return image


#: Longest name written on a box (a label-map name or class text can be megabytes long).
MAX_LABEL_CHARS = 40


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    """``text`` cut to ``limit`` characters, ending in ``…`` when cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _label(draw: ImageDraw.ImageDraw, font, text: str, colour: tuple[int, int, int],
           x: float, y: float, image_height: int) -> None:
    text = _short(text)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    tw, th = right - left + 4, bottom - top + 4
    ty = y - th if y - th >= 0 else min(y + 1, image_height - th)
    draw.rectangle((x, ty, x + tw, ty + th), fill=colour)
    draw.text((x + 2 - left, ty + 2 - top), text, fill=(0, 0, 0), font=font)


def draw_record(
    view: FeatureView,
    names: Mapping[int, str] | None = None,
    bad: Collection[int] = (),
    max_side: int = THUMB_SIDE,
) -> Image.Image:
    """The record's image, scaled so its longest side is ``max_side``, with its boxes drawn."""
    return draw_boxes(record_image(view, max_side), boxes_of(view), names, bad)


def grid(images: Sequence[Image.Image], captions: Sequence[str], columns: int | None = None,
         cell: int | None = None) -> Image.Image:
    """Pictures side by side in a grid, each with a caption below it, on a dark background.

    Each cell is ``cell`` pixels square (default: the largest picture's longest side); larger
    pictures are scaled down to fit.
    """
    if not images:
        raise ValueError("no pictures to put in a grid")
    cell = max(cell or max(max(image.size) for image in images), MIN_CELL)
    columns = columns or math.ceil(math.sqrt(len(images)))
    rows = math.ceil(len(images) / columns)
    font = _font(13)
    caption_height, pad = 20, 8
    sheet = Image.new("RGB", (columns * (cell + pad) + pad,
                              rows * (cell + caption_height + pad) + pad), (24, 26, 32))
    draw = ImageDraw.Draw(sheet)
    for n, (image, caption) in enumerate(zip(images, captions, strict=True)):
        x = pad + (n % columns) * (cell + pad)
        y = pad + (n // columns) * (cell + caption_height + pad)
        picture = _scaled(image, cell) if max(image.size) > cell else image
        sheet.paste(picture, (x + (cell - picture.width) // 2, y + (cell - picture.height) // 2))
        draw.text((x, y + cell + 3), _fit(draw, font, caption, cell), fill=(230, 230, 230),
                  font=font)
    return sheet


def _fit(draw: ImageDraw.ImageDraw, font, text: str, width: int) -> str:
    """``text``, shortened from the left with ``…`` until it fits ``width`` pixels (empty
    when not even ``…`` does)."""
    if draw.textlength(text, font=font) <= width:
        return text
    for cut in range(1, len(text) + 1):
        shortened = "…" + text[cut:]
        if draw.textlength(shortened, font=font) <= width:
            return shortened
    return ""


def data_uri(image: Image.Image, quality: int = 82) -> str:
    """The picture as a JPEG ``data:`` URI, to embed in a page that needs no network."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
