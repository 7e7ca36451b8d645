"""One record as the OD API decoder sees it: boxes, classes, the image, read once.

:class:`ODRecord` reads each feature of a :class:`~tfod_doctor.records.FeatureView` once; every
check and statistic of a record shares it. Lists of the wrong kind read as empty here (the kind
itself is a finding of its own), and the image header is read on first use only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.images import ImageInfo, decode, read_header
from tfod_doctor.records import FeatureView, Kind

#: The kinds a box list may have for the decoder to read it (absent counts as a float list).
_BOX_KINDS = frozenset({Kind.FLOAT, Kind.NONE})


_KINDS_OK = "odapi.record.kinds_ok"


def _kinds_ok(view: FeatureView) -> tuple[bool, bool, bool, bool, bool]:
    """Whether the boxes, labels, texts, image and source id are of kinds the decoder reads
    (absent counts as read: an empty list). Depends on the schema only."""
    kinds = view.kinds
    boxes = all(kinds.get(key, Kind.FLOAT) in _BOX_KINDS for key in K.BOX_KEYS)
    return (boxes, kinds.get(K.LABEL) is Kind.INT64, kinds.get(K.TEXT) is Kind.BYTES,
            kinds.get(K.IMAGE) is Kind.BYTES, kinds.get(K.SOURCE_ID) is Kind.BYTES)


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
        kinds_ok = view.shared.memo.get(_KINDS_OK)
        if kinds_ok is None:
            kinds_ok = view.shared.memo[_KINDS_OK] = _kinds_ok(view)
        boxes_ok, labels_ok, texts_ok, image_ok, source_id_ok = kinds_ok
        lists = view.__getitem__
        self.box_kinds_ok = boxes_ok
        #: The four coordinate lists, in ``(ymin, xmin, ymax, xmax)`` order: copied out of the
        #: message once, as Python lists (which every box rule reads faster than protobuf's).
        self.boxes: tuple[list[float], ...] = tuple(map(
            list, map(lists if boxes_ok else view.floats, K.BOX_KEYS)))
        lengths = set(map(len, self.boxes))
        self.lists_agree = len(lengths) == 1
        #: The number of boxes the decoder assembles (the longest list when they disagree).
        self.n_boxes = max(lengths)
        self.labels: list[int] = list(lists(K.LABEL)) if labels_ok else []
        self.texts: Sequence[bytes] = lists(K.TEXT) if texts_ok else ()
        images = lists(K.IMAGE) if image_ok else ()
        #: The encoded image (the first value; ``b""`` when there is none).
        self.image: bytes = images[0] if images else b""
        ids = lists(K.SOURCE_ID) if source_id_ok else ()
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
