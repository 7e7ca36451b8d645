"""What is wrong with each box of a record, as the OD API's box handling sees it (spec §3).

One pass classifies every box; the B rules report the result and ``fix`` repairs it, so both
read the same thresholds.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.odapi.record import ODRecord

#: Coordinates up to this pass the OD API's range assertion.
ASSERT_LIMIT = 1.1
#: A box side under this many pixels is tiny (B008).
TINY_PIXELS = 2.0
#: ... and under this fraction of the image side when the image size is unknown.
TINY_FRACTION = 0.002


@dataclass
class BoxSurvey:
    """Which boxes of a record have which problem (indices), from one pass over the boxes."""

    nan: list[int] = field(default_factory=list)
    infinite: list[int] = field(default_factory=list)
    pixel: list[int] = field(default_factory=list)
    outside: list[int] = field(default_factory=list)
    inverted: list[int] = field(default_factory=list)
    zero: list[int] = field(default_factory=list)
    tiny: list[int] = field(default_factory=list)


def all_boxes_fine(boxes: tuple[Sequence[float], ...], size: tuple[int, int] | None,
                   tiny_pixels: float = TINY_PIXELS) -> bool:
    """Whether no box of the four coordinate lists has any problem :func:`survey` knows.

    The common case, answered with a few passes over the lists in C instead of a Python loop
    per box: every coordinate finite (their sum is), all inside [0, 1], and the smallest height
    and width above zero (so every box is proper: min < max) and not tiny.
    """
    ymin, xmin, ymax, xmax = boxes
    if not ymin:
        return True
    if not math.isfinite(sum(ymin) + sum(xmin) + sum(ymax) + sum(xmax)):
        return False
    if min(ymin) < 0.0 or min(xmin) < 0.0 or max(ymax) > 1.0 or max(xmax) > 1.0:
        return False
    height, width = min(map(operator.sub, ymax, ymin)), min(map(operator.sub, xmax, xmin))
    if height <= 0.0 or width <= 0.0:
        return False
    if size:
        return not _tiny(height, width, size[0], size[1], tiny_pixels)
    return height >= TINY_FRACTION and width >= TINY_FRACTION


def survey(record: ODRecord, size: tuple[int, int] | None) -> BoxSurvey:
    """Classify every box of the record (``size``: the image's ``(width, height)``, if known)."""
    if all_boxes_fine(record.boxes, size):
        return BoxSurvey()
    return survey_each(record.boxes, size)


def survey_each(boxes: tuple[Sequence[float], ...], size: tuple[int, int] | None,
                tiny_pixels: float = TINY_PIXELS) -> BoxSurvey:
    """Classify the boxes one by one (what :func:`all_boxes_fine` answers for the clean case);
    a side under ``tiny_pixels`` pixels is tiny."""
    found = BoxSurvey()
    width, height = size if size else (None, None)
    for i, (ymin, xmin, ymax, xmax) in enumerate(zip(*boxes, strict=True)):
        if ymin != ymin or xmin != xmin or ymax != ymax or xmax != xmax:
            found.nan.append(i)
            continue
        high, low = max(ymin, xmin, ymax, xmax), min(ymin, xmin, ymax, xmax)
        if math.isinf(high) or math.isinf(low):
            found.infinite.append(i)
            continue
        if high > ASSERT_LIMIT:
            found.pixel.append(i)
        elif high > 1.0 or low < 0.0:
            found.outside.append(i)
        if ymin > ymax or xmin > xmax:
            found.inverted.append(i)
        elif ymin == ymax or xmin == xmax:
            found.zero.append(i)
        elif high <= ASSERT_LIMIT and _tiny(ymax - ymin, xmax - xmin, width, height,
                                            tiny_pixels):
            found.tiny.append(i)
    return found


def _tiny(dy: float, dx: float, width: int | None, height: int | None,
          tiny_pixels: float = TINY_PIXELS) -> bool:
    if width and height:
        return dy * height < tiny_pixels or dx * width < tiny_pixels
    return dy < TINY_FRACTION or dx < TINY_FRACTION


def tiny_sides(dy: Any, dx: Any, width: Any, height: Any,
               tiny_pixels: float = TINY_PIXELS) -> Any:
    """:func:`_tiny` on numpy arrays at once (one value per box: heights, widths, the image's
    width and height in pixels, 0 where unknown): whether each box is tiny (B008)."""
    known = (width > 0) & (height > 0)
    in_pixels = (dy * height < tiny_pixels) | (dx * width < tiny_pixels)
    in_fractions = (dy < TINY_FRACTION) | (dx < TINY_FRACTION)
    return (known & in_pixels) | (~known & in_fractions)


def fits_as_pixels(boxes: list[tuple[float, float, float, float]], size: tuple[int, int]) -> bool:
    """Whether ``(ymin, xmin, ymax, xmax)`` boxes all lie in a ``(width, height)`` image as pixels.

    One pixel of slack on each side: tools write ``xmax = width`` or count from 1.
    """
    width, height = size
    return all(min(box) >= -1 and max(box[1], box[3]) <= width + 1 and
               max(box[0], box[2]) <= height + 1 for box in boxes)
