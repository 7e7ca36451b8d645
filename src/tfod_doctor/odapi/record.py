"""One record as the OD API decoder sees it: boxes, classes, the image, read once.

:class:`ODRecord` reads each feature of a :class:`~tfod_doctor.records.FeatureView` once; every
check and statistic of a record shares it. Lists of the wrong kind read as empty here (the kind
itself is a finding of its own), and the image header is read on first use only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.images import ImageInfo, decode, read_header
from tfod_doctor.records import FeatureView, Kind

#: The kinds a box list may have for the decoder to read it (absent counts as a float list).
_BOX_KINDS = frozenset({Kind.FLOAT, Kind.NONE})


_READER = "odapi.record.reader"
#: The lists a record's ODRecord reads, and the kind each must have to be read.
_READ = ((K.YMIN, Kind.FLOAT), (K.XMIN, Kind.FLOAT), (K.YMAX, Kind.FLOAT), (K.XMAX, Kind.FLOAT),
         (K.LABEL, Kind.INT64), (K.TEXT, Kind.BYTES), (K.IMAGE, Kind.BYTES),
         (K.SOURCE_ID, Kind.BYTES))
Reader = Callable[[Mapping[str, Sequence[Any]]], tuple[Sequence[Any], ...]]


def _reader(view: FeatureView) -> tuple[bool, Reader]:
    """Whether the box lists are of kinds the decoder reads (absent counts as read), and what
    takes the lists of :data:`_READ` out of ``view.lists``: a list of another kind, or absent,
    reads as empty. Depends on the schema only."""
    kinds = view.kinds
    boxes_ok = all(kinds.get(key, Kind.FLOAT) in _BOX_KINDS for key in K.BOX_KEYS)
    keys = [key if kinds.get(key) is kind else None for key, kind in _READ]
    if None not in keys:
        return boxes_ok, itemgetter(*keys)  # the usual record: one lookup in C
    return boxes_ok, lambda lists: tuple(lists[key] if key else () for key in keys)


class ODRecord:
    """The OD API's view of one record (see the module docstring)."""

    __slots__ = (
        "_image_info",
        "box_kinds_ok",
        "boxes",
        "image",
        "labels",
        "lists_agree",
        "memo",
        "n_boxes",
        "source_id",
        "texts",
        "view",
    )

    def __init__(self, view: FeatureView) -> None:
        self.view = view
        reader = view.shared.memo.get(_READER)
        if reader is None:
            reader = view.shared.memo[_READER] = _reader(view)
        self.box_kinds_ok, read = reader
        ymin, xmin, ymax, xmax, labels, self.texts, images, ids = read(view.lists)
        #: The four coordinate lists, in ``(ymin, xmin, ymax, xmax)`` order: copied out of the
        #: message once, as Python lists (which every box rule reads faster than protobuf's).
        self.boxes: tuple[list[float], ...] = (list(ymin), list(xmin), list(ymax), list(xmax))
        n_boxes = len(ymin)
        self.lists_agree = n_boxes == len(xmin) == len(ymax) == len(xmax)
        #: The number of boxes the decoder assembles (the longest list when they disagree).
        self.n_boxes = n_boxes if self.lists_agree else max(map(len, self.boxes))
        self.labels: list[int] = list(labels)
        #: The encoded image (the first value; ``b""`` when there is none).
        self.image: bytes = images[0] if images else b""
        #: ``image/source_id`` (the first value; ``b""`` when there is none).
        self.source_id: bytes = ids[0] if ids else b""
        self._image_info: ImageInfo | None = None
        #: Values derived from this record by its users (computed once, shared).
        self.memo: dict[str, Any] = {}

    def image_info(self, deep: bool = False) -> ImageInfo:
        """The image as the decoder sees it: headers only, or a full decode with ``deep``."""
        if self._image_info is None or (deep and not self._image_info.decoded):
            self._image_info = decode(self.image) if deep else read_header(self.image)
        return self._image_info

    def box(self, index: int) -> tuple[float, float, float, float]:
        """Box ``index`` as ``(ymin, xmin, ymax, xmax)``."""
        ymin, xmin, ymax, xmax = self.boxes
        return ymin[index], xmin[index], ymax[index], xmax[index]

    def stored_size(self) -> tuple[int, int] | None:
        """``(width, height)`` from ``image/width`` / ``image/height`` when both are there."""
        width, height = self.view.first_int(K.WIDTH), self.view.first_int(K.HEIGHT)
        if width is None or height is None:
            return None
        return width, height

    def image_size(self, deep: bool = False) -> tuple[int, int] | None:
        """``(width, height)`` of the image itself, else as stored in the record."""
        return self.image_info(deep).size or self.stored_size()


def texts_of(values: Sequence[bytes]) -> list[str]:
    """Class names as text (the decoder compares bytes; the label map holds UTF-8)."""
    return [value.decode("utf-8", "replace") for value in values]


def is_finite(value: float) -> bool:
    """Neither NaN nor infinite."""
    return not (math.isnan(value) or math.isinf(value))
