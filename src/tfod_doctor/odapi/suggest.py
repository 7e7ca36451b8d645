"""Near misses: which OD API key an unknown key was meant to be, which class a name was meant to be.

Feature keys are matched case-insensitively, then through the aliases people write (``boxes``,
``xmins``, ``labels``, ``category_id``, TFDS's ``objects/bbox``...), then by edit distance. Class
names are matched ignoring case, whitespace, ``_``/``-`` and plural endings, then by edit distance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from tfod_doctor.odapi import features as K

#: The four box keys written as one suggestion.
BOX_GROUP = "image/object/bbox/{ymin,xmin,ymax,xmax}"

#: Whole keys (lowercase) people write for an OD API key.
_KEY_ALIASES: dict[str, str] = {
    "image": K.IMAGE, "image/raw": K.IMAGE, "image_raw": K.IMAGE, "image/bytes": K.IMAGE,
    "image/data": K.IMAGE, "image/jpeg": K.IMAGE, "image/png": K.IMAGE, "image/image": K.IMAGE,
    "image/encoded_image": K.IMAGE, "image_encoded": K.IMAGE, "image/img": K.IMAGE,
    "img": K.IMAGE, "encoded": K.IMAGE, "image/encoded_jpeg": K.IMAGE, "jpeg": K.IMAGE,
    "image/object/bbox": BOX_GROUP, "image/object/bboxes": BOX_GROUP,
    "image/object/boxes": BOX_GROUP, "image/objects/bbox": BOX_GROUP, "objects/bbox": BOX_GROUP,
    "bbox": BOX_GROUP, "bboxes": BOX_GROUP, "boxes": BOX_GROUP, "box": BOX_GROUP,
    "objects/bboxes": BOX_GROUP, "objects/boxes": BOX_GROUP, "image/bbox": BOX_GROUP,
    "image/bboxes": BOX_GROUP, "image/boxes": BOX_GROUP, "annotations/bbox": BOX_GROUP,
    "image/object/class": K.LABEL, "image/object/label": K.LABEL, "image/object/labels": K.LABEL,
    "image/object/classes": K.LABEL, "image/object/class/labels": K.LABEL,
    "image/object/class/id": K.LABEL, "image/object/class_id": K.LABEL,
    "image/object/category_id": K.LABEL, "objects/label": K.LABEL,
    "image/object/class/name": K.TEXT, "image/object/name": K.TEXT,
    "image/object/class/names": K.TEXT, "image/object/class/texts": K.TEXT,
    "image/object/class_name": K.TEXT, "image/object/text": K.TEXT,
    "image/id": K.SOURCE_ID, "image/image_id": K.SOURCE_ID,
}

#: Last path components (lowercase) people write for an OD API key.
_COMPONENT_ALIASES: dict[str, str] = {
    "xmins": K.XMIN, "x_min": K.XMIN, "x_mins": K.XMIN, "xmin": K.XMIN, "minx": K.XMIN,
    "ymins": K.YMIN, "y_min": K.YMIN, "y_mins": K.YMIN, "ymin": K.YMIN, "miny": K.YMIN,
    "xmaxs": K.XMAX, "x_max": K.XMAX, "x_maxs": K.XMAX, "xmax": K.XMAX, "maxx": K.XMAX,
    "ymaxs": K.YMAX, "y_max": K.YMAX, "y_maxs": K.YMAX, "ymax": K.YMAX, "maxy": K.YMAX,
    "label": K.LABEL, "labels": K.LABEL, "class": K.LABEL, "classes": K.LABEL,
    "class_id": K.LABEL, "class_ids": K.LABEL, "classid": K.LABEL, "category_id": K.LABEL,
    "category_ids": K.LABEL, "label_id": K.LABEL, "label_ids": K.LABEL, "cls": K.LABEL,
    "text": K.TEXT, "texts": K.TEXT, "class_name": K.TEXT, "class_names": K.TEXT,
    "class_text": K.TEXT, "category_name": K.TEXT, "category": K.TEXT, "label_name": K.TEXT,
    "label_text": K.TEXT, "name": K.TEXT, "names": K.TEXT,
    "height": K.HEIGHT, "image_height": K.HEIGHT, "img_height": K.HEIGHT,
    "width": K.WIDTH, "image_width": K.WIDTH, "img_width": K.WIDTH,
    "filename": "image/filename", "file_name": "image/filename", "image_name": "image/filename",
    "source_id": K.SOURCE_ID, "image_id": K.SOURCE_ID,
    "format": K.FORMAT, "image_format": K.FORMAT,
    "area": K.AREA, "areas": K.AREA, "is_crowd": K.IS_CROWD, "iscrowd": K.IS_CROWD,
    "crowd": K.IS_CROWD, "difficult": K.DIFFICULT, "difficults": K.DIFFICULT,
    "group_of": K.GROUP_OF, "groupof": K.GROUP_OF, "weight": K.WEIGHT, "weights": K.WEIGHT,
    "mask": K.MASK, "masks": K.MASK, "segmentation": K.MASK,
    "bbox": BOX_GROUP, "bboxes": BOX_GROUP, "boxes": BOX_GROUP, "bounding_box": BOX_GROUP,
    "bounding_boxes": BOX_GROUP, "gt_boxes": BOX_GROUP, "groundtruth_boxes": BOX_GROUP,
    "label_names": K.TEXT, "class_label": K.LABEL, "class_labels": K.LABEL,
    "gt_classes": K.LABEL, "groundtruth_classes": K.LABEL,
}
#: Corner names that only mean a box corner under a box-like key.
_BOX_CORNERS: dict[str, str] = {
    "x1": K.XMIN, "y1": K.YMIN, "x2": K.XMAX, "y2": K.YMAX, "left": K.XMIN, "top": K.YMIN,
    "right": K.XMAX, "bottom": K.YMAX, "x0": K.XMIN, "y0": K.YMIN,
}


#: How a suggestion found through :func:`alias_of` was matched.
ALIAS = "a common name for it"


@dataclass(frozen=True)
class KeySuggestion:
    """The OD API key an unknown key was probably meant to be, and how it was matched."""

    key: str
    how: str

    @property
    def keys(self) -> tuple[str, ...]:
        """The OD API keys the suggestion stands for (four for the box group)."""
        return K.BOX_KEYS if self.key == BOX_GROUP else (self.key,)


def edit_distance(a: str, b: str, limit: int | None = None) -> int:
    """Levenshtein distance with transpositions (optimal string alignment).

    With ``limit``, any distance above it may be returned as ``limit + 1`` (faster).
    """
    if a == b:
        return 0
    if limit is not None and abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
        if limit is not None and min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def _distance_limit(text: str) -> int:
    return 1 if len(text) <= 5 else 2 if len(text) <= 15 else 3


def alias_of(key: str) -> str | None:
    """The OD API key (or :data:`BOX_GROUP`) that ``key`` is a common other name for, or ``None``.

    Only whole names and last path components people really write count; no edit distance.
    """
    folded = key.strip().lower()
    if folded in _KEY_ALIASES:
        return _KEY_ALIASES[folded]
    return _COMPONENT_ALIASES.get(folded.rsplit("/", 1)[-1])


@lru_cache(maxsize=4096)
def suggest_key(key: str) -> KeySuggestion | None:
    """The OD API key ``key`` was probably meant to be, or ``None`` (cached: keys repeat)."""
    candidates = sorted(K.every_od_key())
    folded = key.strip().lower()
    for candidate in candidates:
        if candidate.lower() == folded:
            return KeySuggestion(candidate, "differs only in case or spaces")
    alias = alias_of(key)
    if alias is not None:
        return KeySuggestion(alias, ALIAS)
    component = folded.rsplit("/", 1)[-1]
    if component in _BOX_CORNERS and ("box" in folded or "bbox" in folded):
        return KeySuggestion(_BOX_CORNERS[component], "a common name for this box corner")
    limit = _distance_limit(folded)
    best: tuple[int, str] | None = None
    for candidate in candidates:
        distance = edit_distance(folded, candidate.lower(), limit)
        if distance <= limit and (best is None or distance < best[0]):
            best = (distance, candidate)
    if best is not None:
        return KeySuggestion(best[1], f"{best[0]} character(s) away")
    return None


def _fold_name(text: str) -> str:
    folded = "".join(ch for ch in text.lower() if ch.isalnum())
    for ending in ("es", "s"):
        if folded.endswith(ending) and len(folded) > len(ending) + 2:
            return folded[: -len(ending)]
    return folded


def _same_name(text: str, names: list[str]) -> list[str]:
    """Names that differ from ``text`` only in spaces, then in case, punctuation or plural."""
    stripped = text.strip()
    exact = [name for name in names if name.strip() == stripped and name != text]
    if exact:
        return exact
    folded = _fold_name(text)
    return [name for name in names if _fold_name(name) == folded]


def same_class(text: str, names: Iterable[str]) -> str | None:
    """The one label-map name ``text`` is another spelling of (case, spaces, plural), or None."""
    found = _same_name(text, [name for name in names if name])
    return found[0] if len(found) == 1 else None


def suggest_class(text: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """Label-map names ``text`` was probably meant to be: case, spaces, plural, then typos."""
    names = [name for name in names if name]
    same = _same_name(text, names)
    if same:
        return same[:limit]
    folded = _fold_name(text)
    max_distance = _distance_limit(folded)
    scored = sorted(
        (distance, name)
        for name in names
        if (distance := edit_distance(text.lower(), name.lower(), max_distance)) <= max_distance
    )
    return [name for _, name in scored[:limit]]
