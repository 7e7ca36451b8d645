"""One record being repaired: its features as plain lists, and every change made to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tfod_doctor.odapi import features as K
from tfod_doctor.records import Bytes, FeatureView, Floats, Ints, Kind, NoKind, encode_example

_TYPED = {Kind.FLOAT: Floats, Kind.INT64: Ints, Kind.BYTES: Bytes, Kind.NONE: NoKind}
#: Per-box lists that follow the boxes when a box is dropped (besides the four coordinates).
PER_BOX_KEYS = (K.LABEL, K.TEXT, *K.RESHAPED_PER_BOX, *K.PADDED_PER_BOX, K.TRACK_ID,
                "image/object/truncated", "image/object/occluded", "image/object/view",
                "image/object/class/score")
#: Per-box data with a fixed number of values per box (a mask's pixels, a box's keypoints).
STRIDED_PER_BOX_KEYS = (K.MASK, K.MASK_WEIGHT, K.KEYPOINT_X, K.KEYPOINT_Y,
                        K.KEYPOINT_VISIBILITY, K.KEYPOINT_Z, K.KEYPOINT_Z_WEIGHTS,
                        K.MULTICLASS_SCORES)


@dataclass(frozen=True)
class Change:
    """One change to one record: which repair, for which rule, and what it did."""

    repair: str
    rule: str
    detail: str
    #: Boxes this change touched or dropped.
    boxes: int = 0
    #: Whether the change dropped boxes (counted apart in the plan).
    dropped: bool = False
    #: ``False`` for a repair that was due but could not be made (the record keeps the problem).
    done: bool = True

    def to_dict(self) -> dict[str, Any]:
        """The manifest form."""
        out: dict[str, Any] = {"repair": self.repair, "rule": self.rule, "detail": self.detail}
        if self.boxes:
            out["boxes"] = self.boxes
        if self.dropped:
            out["dropped"] = True
        if not self.done:
            out["done"] = False
        return out


@dataclass
class EditableRecord:
    """The features of one record as ``key -> (kind, values)``; repairs edit them in place."""

    features: dict[str, tuple[Kind, list[Any]]]
    changes: list[Change] = field(default_factory=list)

    @classmethod
    def from_view(cls, view: FeatureView) -> EditableRecord:
        """A record to edit, copied out of a decoded view."""
        return cls(view.to_python())

    # -- reading -----------------------------------------------------------------------------

    def kind(self, key: str) -> Kind | None:
        """The kind under ``key`` (``None`` when absent)."""
        entry = self.features.get(key)
        return entry[0] if entry else None

    def values(self, key: str, kind: Kind | None = None) -> list[Any]:
        """The values under ``key`` (of ``kind`` when given), or an empty list."""
        entry = self.features.get(key)
        if entry is None or (kind is not None and entry[0] is not kind):
            return []
        return entry[1]

    def first(self, key: str, kind: Kind) -> Any:
        """The first value under ``key`` of ``kind``, or ``None``."""
        values = self.values(key, kind)
        return values[0] if values else None

    def boxes(self) -> list[tuple[float, float, float, float]]:
        """The boxes as ``(ymin, xmin, ymax, xmax)`` (float coordinate lists of one length)."""
        sides = [self.values(key, Kind.FLOAT) for key in K.BOX_KEYS]
        if len({len(side) for side in sides}) != 1:
            return []
        return list(zip(*sides, strict=True))

    def view(self) -> FeatureView:
        """A read-only view of the current features (for the shared OD API helpers)."""
        return FeatureView.from_payload(self.payload())

    # -- writing -----------------------------------------------------------------------------

    def set(self, key: str, kind: Kind, values: Sequence[Any]) -> None:
        """Put ``values`` of ``kind`` under ``key``."""
        self.features[key] = (kind, list(values))

    def set_boxes(self, boxes: Sequence[Sequence[float]]) -> None:
        """Replace the four coordinate lists."""
        for side, key in enumerate(K.BOX_KEYS):
            self.set(key, Kind.FLOAT, [box[side] for box in boxes])

    def drop_boxes(self, indices: set[int]) -> None:
        """Remove boxes ``indices`` from the coordinates and every per-box list that lines up:
        one value per box, or the same number per box (masks, keypoints, class scores)."""
        count = len(self.values(K.YMIN))
        if not count:
            return
        for key in (*K.BOX_KEYS, *PER_BOX_KEYS, *STRIDED_PER_BOX_KEYS):
            entry = self.features.get(key)
            if entry is None or not entry[1] or len(entry[1]) % count:
                continue
            if key in STRIDED_PER_BOX_KEYS or len(entry[1]) == count:
                stride = len(entry[1]) // count
                kept = [v for i, v in enumerate(entry[1]) if i // stride not in indices]
                self.features[key] = (entry[0], kept)

    def rename(self, old: str, new: str) -> None:
        """Move the feature under ``old`` to ``new``."""
        self.features[new] = self.features.pop(old)

    def note(self, repair: str, rule: str, detail: str, boxes: int = 0,
             dropped: bool = False) -> None:
        """Record a change."""
        self.changes.append(Change(repair, rule, detail, boxes, dropped))

    def skip(self, repair: str, rule: str, detail: str) -> None:
        """Record a repair that was due but could not be made without guessing."""
        self.changes.append(Change(repair, rule, detail, done=False))

    def payload(self) -> bytes:
        """The serialized ``tf.train.Example`` (keys in their current order)."""
        return encode_example({key: _TYPED[kind](values)
                               for key, (kind, values) in self.features.items()})
