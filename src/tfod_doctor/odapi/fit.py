"""Whether a key the decoder does not read holds what a key the record lacks should hold.

A close name is not enough to call an unknown key lost data: KITTI's ``image/object/alpha`` (an
angle) is two letters from ``image/object/area``. The evidence is the values: the same kind as
the OD API key, one value per box (or one value for an image-level key), and values that fit
(a box side between its siblings, class ids that are ids, flags that are 0 or 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.suggest import suggest_key
from tfod_doctor.records import FeatureView, Kind

#: Each box side, and the side it must not pass (``min <= max``) with the direction.
_SIBLING: dict[str, tuple[str, int]] = {
    K.YMIN: (K.YMAX, -1), K.XMIN: (K.XMAX, -1), K.YMAX: (K.YMIN, 1), K.XMAX: (K.XMIN, 1),
}
_FLAGS = (K.IS_CROWD, K.DIFFICULT, K.GROUP_OF)
_NON_NEGATIVE = (K.AREA, K.WEIGHT)
#: Per-box data with a fixed number of values per box (a numerical mask's pixels, keypoints).
_STRIDED = {K.MASK, K.KEYPOINT_X, K.KEYPOINT_Y, K.KEYPOINT_VISIBILITY, K.KEYPOINT_Z,
            K.KEYPOINT_Z_WEIGHTS, K.MULTICLASS_SCORES}
_IMAGE_LEVEL = {K.IMAGE, K.FORMAT, K.SOURCE_ID, K.HEIGHT, K.WIDTH, "image/filename",
                "image/key/sha256"}


@dataclass(frozen=True)
class Fit:
    """How an unknown key's values compare with what an OD API key should hold."""

    target: str
    fits: bool
    #: What was compared, in a few words each (what fits, or the first thing that does not).
    evidence: tuple[str, ...]

    def describe(self) -> str:
        """The evidence as one clause."""
        return "; ".join(self.evidence)


def _count(view: FeatureView, key: str) -> int:
    return len(view[key]) if key in view.kinds else 0


def box_count(view: FeatureView) -> int | None:
    """How many boxes the record's own per-box lists say it has (``None``: no list tells)."""
    counts = {_count(view, key) for key in (*K.BOX_KEYS, K.LABEL, K.TEXT)} - {0}
    return counts.pop() if len(counts) == 1 else None


def _finite(values: Sequence[Any]) -> bool:
    return all(math.isfinite(v) for v in values)


def _values_fit(view: FeatureView, key: str, target: str) -> str | None:
    """Why the values of ``key`` cannot be ``target``'s (``None``: they can)."""
    values = view[key]
    if target in _SIBLING:
        sibling, direction = _SIBLING[target]
        if not _finite(values):
            return "some values are not finite"
        other = view[sibling] if view.kind(sibling) is Kind.FLOAT else ()
        if len(other) == len(values):
            if any((v - o) * direction < 0 for v, o in zip(values, other, strict=True)):
                side = "at most" if direction < 0 else "at least"
                return f"not every value is {side} its box's {sibling.rsplit('/', 1)[1]}"
        elif any(v < 0 for v in values):
            return "some values are negative"
        return None
    if target == K.LABEL:
        return "some values are below 0" if any(v < 0 for v in values) else None
    if target in _FLAGS:
        return None if all(v in (0, 1) for v in values) else "not every value is 0 or 1"
    if target in _NON_NEGATIVE:
        return None if _finite(values) and all(v >= 0 for v in values) else (
            "some values are negative or not finite")
    if target in (K.HEIGHT, K.WIDTH):
        return None if all(v > 0 for v in values) else "the value is not a positive size"
    if target in (K.TEXT, K.IMAGE):
        return None if all(values) else "some values are empty"
    return None


def fit_as(view: FeatureView, key: str, target: str) -> Fit:
    """Whether the values of ``key`` fit as ``target``: kind, count, values."""
    kind = view.kinds[key]
    count = _count(view, key)
    kinds = K.KINDS_OF_KEY.get(target, frozenset())
    if kind not in kinds:
        wanted = " or ".join(sorted(k.value for k in kinds))
        return Fit(target, False, (f"it holds {kind.value}s where {target} holds {wanted}s",))
    evidence = [f"the same kind ({kind.value})"]
    if target in _IMAGE_LEVEL:
        if count != 1:
            return Fit(target, False, (*evidence, f"{count} values where {target} holds one"))
        evidence.append("one value, as an image-level key")
    else:
        boxes = box_count(view)
        if boxes is None and target not in K.BOX_KEYS:
            return Fit(target, False, (*evidence, "the record has no boxes to count against"))
        if boxes is not None and (count % boxes if target in _STRIDED else count != boxes):
            return Fit(target, False, (*evidence, f"{count} values for {boxes} box(es)"))
        if not boxes:
            evidence.append(f"{count} values")
        else:
            evidence.append("one value per box" if count == boxes else
                            f"{count // boxes} values per box")
    why_not = _values_fit(view, key, target)
    if why_not is not None:
        return Fit(target, False, (*evidence, why_not))
    evidence.append("values that fit")
    return Fit(target, True, tuple(evidence))


def named_fit(view: FeatureView, key: str, spec: dict[str, K.KeySpec]) -> Fit | None:
    """The OD API key the name of ``key`` suggests, when the record lacks it and the decoder
    reads it under the current flags, with how the values compare (``None``: no such key).

    The box group (``bbox``, ``boxes``...) is left to the flat-box-list rules (F008).
    """
    suggestion = suggest_key(key)
    if suggestion is None or len(suggestion.keys) != 1:
        return None
    target = suggestion.key
    if target not in spec or _count(view, target) or not _count(view, key):
        return None
    return fit_as(view, key, target)


def missing_side(view: FeatureView, unread: Sequence[str]) -> tuple[str, list[str]] | None:
    """When the record lacks exactly one of the four box sides: that side, and the keys of
    ``unread`` (float keys the decoder does not read) whose values fit as it."""
    lacking = [key for key in K.BOX_KEYS if not _count(view, key)]
    if len(lacking) != 1 or box_count(view) is None:
        return None
    side = lacking[0]
    fitting = [key for key in unread if view.kinds.get(key) is Kind.FLOAT and _count(view, key)
               and fit_as(view, key, side).fits]
    return side, fitting
