"""Near misses: which OD API key an unknown key was meant to be, which class a name was meant to be.

Feature keys are matched case-insensitively, then through the aliases people write (``boxes``,
``xmins``, ``labels``, ``category_id``, TFDS's ``objects/bbox``...), then by edit distance. Class
names are matched ignoring case, whitespace, ``_``/``-`` and plural endings, then by edit distance.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

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


class NameIndex:
    """Label-map names indexed for near-miss lookups, built once per label map.

    Spellings are looked up by their stripped and folded forms in a dict; typos are searched
    only among names of about the same length that share enough character pairs with the text
    (every edit changes at most three pairs), so one lookup looks at the few names that can be
    near, not at every name of a label map with 10⁵ items.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = list(dict.fromkeys(name for name in names if name))
        self._lowered = [name.lower() for name in self.names]
        self._stripped: dict[str, list[str]] = defaultdict(list)
        self._folded: dict[str, list[str]] = defaultdict(list)
        self._pairs: dict[str, list[int]] = defaultdict(list)
        self._by_length: dict[int, list[int]] = defaultdict(list)
        self._pair_counts: list[int] = []
        for i, (name, lowered) in enumerate(zip(self.names, self._lowered, strict=True)):
            self._stripped[name.strip()].append(name)
            self._folded[_fold_name(name)].append(name)
            self._by_length[len(lowered)].append(i)
            pairs = _pairs(lowered)
            self._pair_counts.append(len(pairs))
            for pair in pairs:
                self._pairs[pair].append(i)

    def same(self, text: str) -> list[str]:
        """Names that differ from ``text`` only in spaces, then in case, punctuation or plural."""
        exact = [name for name in self._stripped.get(text.strip(), ()) if name != text]
        return exact or list(self._folded.get(_fold_name(text), ()))

    def suggest(self, text: str, limit: int = 3) -> list[str]:
        """Names ``text`` was probably meant to be: case, spaces, plural, then typos."""
        same = self.same(text)
        if same:
            return same[:limit]
        lowered = text.lower()
        max_distance = _distance_limit(_fold_name(text))
        scored = sorted(
            (distance, self.names[i])
            for i in self._candidates(lowered, max_distance)
            if (distance := edit_distance(lowered, self._lowered[i], max_distance))
            <= max_distance
        )
        return [name for _, name in scored[:limit]]

    def _candidates(self, lowered: str, max_distance: int) -> list[int]:
        """The names that can be within ``max_distance`` edits of ``lowered``: each edit
        removes at most three of the pairs either string has, so both keep all but
        ``3 * max_distance`` of their pairs in common."""
        lengths = range(max(0, len(lowered) - max_distance), len(lowered) + max_distance + 1)
        pairs = _pairs(lowered)
        spare = 3 * max_distance
        if len(pairs) <= spare:
            return [i for length in lengths for i in self._by_length.get(length, ())]
        shared = Counter(chain.from_iterable(self._pairs.get(pair, ()) for pair in pairs))
        return [i for i, count in shared.items()
                if count >= max(len(pairs), self._pair_counts[i]) - spare
                and len(self._lowered[i]) in lengths]


def _pairs(text: str) -> set[str]:
    """The distinct pairs of neighbouring characters of ``text``, its ends marked."""
    padded = f"\x00{text}\x01"
    return {padded[i:i + 2] for i in range(len(padded) - 1)}


def suggest_class(text: str, names: Iterable[str], limit: int = 3) -> list[str]:
    """Label-map names ``text`` was probably meant to be: case, spaces, plural, then typos.

    To look up many texts in one label map, build a :class:`NameIndex` once (a
    :class:`~tfod_doctor.odapi.labels.LabelTable` keeps one).
    """
    return NameIndex(names).suggest(text, limit)
