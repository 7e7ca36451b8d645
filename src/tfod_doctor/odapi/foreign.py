"""Boxes and classes written under keys the OD API does not read (``boxes``, ``classes``...).

Tutorials and home-made scripts often write one flat list of 4 values per box and a class list
under their own names. The decoder reads none of it: the record trains as an image without
objects. :func:`foreign_keys` finds such keys in a record, for the check that reports them and
for the repair that moves them to the OD API's keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.suggest import BOX_GROUP, alias_of
from tfod_doctor.records import FeatureView, Kind

_NUMBERS = (Kind.FLOAT, Kind.INT64)


@dataclass(frozen=True, slots=True)
class ForeignKeys:
    """Where a record keeps boxes and classes the decoder does not read (``None``: nowhere)."""

    #: A flat list of 4 values per box (only when the record has no OD API box lists).
    boxes: str | None = None
    #: Class ids (only when the record has no OD API classes).
    labels: str | None = None
    #: Class names (only when the record has no OD API classes).
    texts: str | None = None

    def keys(self) -> tuple[str, ...]:
        """The keys found."""
        return tuple(k for k in (self.boxes, self.labels, self.texts) if k is not None)

    def __bool__(self) -> bool:
        return self.boxes is not None or self.labels is not None or self.texts is not None

    def renames(self) -> dict[str, str]:
        """Class key -> the OD API key it must be (boxes are split, not renamed)."""
        out = {}
        if self.labels is not None:
            out[self.labels] = K.LABEL
        if self.texts is not None:
            out[self.texts] = K.TEXT
        return out


NONE = ForeignKeys()


def _count(view: FeatureView, key: str) -> int:
    return len(view[key]) if key in view.kinds else 0


def is_unread(key: str) -> bool:
    """Whether the decoder neither reads ``key`` under any setting nor knows it as unused."""
    return key not in K.KINDS_OF_KEY and key not in K.KNOWN_UNUSED


def foreign_keys(view: FeatureView) -> ForeignKeys:
    """The keys of ``view`` that hold boxes or classes the OD API does not read.

    A box list is a numeric key named like a box list (``boxes``, ``bbox``, ``objects/bbox``...)
    with 4 values per box, or any other numeric key with 4·n values beside a class list of n.
    Class keys are named like class lists (``classes``, ``labels``, ``category_id``,
    ``label_name``...); numbers are ids, strings are names. Only records that lack the OD API's
    own lists for the same data count: elsewhere the keys are unused duplicates (F002).
    """
    kinds = view.kinds
    unread = [key for key in kinds if is_unread(key) and _count(view, key)]
    if not unread:
        return NONE
    labels = texts = None
    if not (_count(view, K.LABEL) or _count(view, K.TEXT)):
        for key in unread:
            if alias_of(key) not in (K.LABEL, K.TEXT):
                continue
            if kinds[key] is Kind.BYTES and texts is None:
                texts = key
            elif kinds[key] in _NUMBERS and labels is None:
                labels = key
    boxes = None
    if not any(_count(view, key) for key in K.BOX_KEYS):
        boxes = _flat_box_key(view, unread, (labels, texts))
    return ForeignKeys(boxes, labels, texts) if (boxes or labels or texts) else NONE


def _flat_box_key(view: FeatureView, unread: list[str],
                  class_keys: tuple[str | None, str | None]) -> str | None:
    numeric = [key for key in unread if view.kinds[key] in _NUMBERS
               and key not in class_keys and not _count(view, key) % 4]
    for key in numeric:
        if alias_of(key) == BOX_GROUP:
            return key
    classes = max((_count(view, key) for key in (K.LABEL, K.TEXT, *class_keys) if key), default=0)
    if classes:
        for key in numeric:
            if _count(view, key) == 4 * classes and alias_of(key) is None:
                return key
    return None
