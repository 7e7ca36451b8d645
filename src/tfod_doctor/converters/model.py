"""The one dataset model every format converts to and from (Datumaro-style).

Importers read a format into *source* objects (:class:`SourceItem` with boxes in the format's own
units and category keys); the conversion pipeline reads the images and turns them into
*canonical* objects (:class:`CanonicalSample` with normalized boxes and contiguous label ids),
which one writer turns into OD API ``tf.Example`` records. Exporters read records back into
canonical samples. Problems with single annotations are :class:`Problem` values, never exceptions.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

# -- categories ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """One class: its label-map id (1..N), name, and where it came from.

    ``source_id`` is the id the source format gave it (a COCO category id, a YOLO class index),
    or ``None`` when the format names classes only (VOC, CSV).
    """

    id: int
    name: str
    source_id: int | None = None
    supercategory: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The manifest form."""
        data: dict[str, Any] = {"id": self.id, "name": self.name, "source_id": self.source_id}
        if self.supercategory is not None:
            data["supercategory"] = self.supercategory
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Category:
        """Read back :meth:`to_dict`."""
        return cls(int(data["id"]), str(data["name"]), data.get("source_id"),
                   data.get("supercategory"))


class Categories(Sequence[Category]):
    """The classes of a dataset, ordered by label-map id; look them up by id, name or source id."""

    def __init__(self, items: Iterable[Category] = ()) -> None:
        self._items = sorted(items, key=lambda c: c.id)
        self._by_id = {c.id: c for c in self._items}
        self._by_name = {c.name: c for c in self._items}
        self._by_source = {c.source_id: c for c in self._items if c.source_id is not None}
        if len(self._by_id) != len(self._items):
            raise ValueError("two categories share an id")
        if len(self._by_name) != len(self._items):
            raise ValueError("two categories share a name")

    def __getitem__(self, index: int) -> Category:  # type: ignore[override]
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Category]:
        return iter(self._items)

    def by_id(self, label: int) -> Category | None:
        """The category with this label-map id."""
        return self._by_id.get(label)

    def by_name(self, name: str) -> Category | None:
        """The category with exactly this name."""
        return self._by_name.get(name)

    def by_source(self, source_id: int) -> Category | None:
        """The category the source format called ``source_id``."""
        return self._by_source.get(source_id)

    @property
    def contiguous(self) -> bool:
        """Whether the ids are exactly 1..N."""
        return [c.id for c in self._items] == list(range(1, len(self._items) + 1))

    def to_list(self) -> list[dict[str, Any]]:
        """The manifest form."""
        return [c.to_dict() for c in self._items]


# -- problems ------------------------------------------------------------------------------------


class ProblemKind(str, Enum):
    """What can be wrong with one annotation, image or annotation file."""

    BOX_OUTSIDE_IMAGE = "box-outside-image"
    DEGENERATE_BOX = "degenerate-box"
    UNKNOWN_CATEGORY = "unknown-category"
    MISSING_IMAGE = "missing-image"
    UNREADABLE_IMAGE = "unreadable-image"
    MALFORMED_ANNOTATION = "malformed-annotation"
    MALFORMED_FILE = "malformed-file"
    UNKNOWN_IMAGE = "unknown-image"
    DUPLICATE_IMAGE = "duplicate-image"
    SIZE_MISMATCH = "size-mismatch"
    DAMAGED_RECORD = "damaged-record"
    MISSING_INPUT = "missing-input"
    #: Notes: nothing is skipped, but the user should know.
    CLIPPED_BOX = "clipped-box"
    RESCALED_BOXES = "rescaled-boxes"
    EXIF_ASSUMED = "exif-assumed"
    REENCODED_IMAGE = "reencoded-image"
    SIMILAR_NAMES = "similar-class-names"
    DROPPED_CATEGORY = "dropped-category"


class Skipped(str, Enum):
    """What a problem made the conversion leave out."""

    ANNOTATION = "annotation"
    IMAGE = "image"
    #: Records of a record file (damaged, or not readable as OD API samples).
    RECORDS = "records"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Where:
    """Where something is in the source: a file, a 1-based line (and column), an index in it.

    ``index`` counts annotations as the format lists them: ``annotations[i]`` of a COCO file,
    the i-th ``<object>`` of a VOC file, a record in a TFRecord file (all 0-based).
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    index: int | None = None
    #: What ``index`` counts, for people: ``annotations[3]``, ``images[1]``, ``record 7``.
    item: str | None = None

    def __str__(self) -> str:
        text = self.file or "<input>"
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        elif self.item:
            text += f" {self.item}"
        return text

    def sort_key(self) -> tuple:
        """File order: by file, then line, then index."""
        return (self.file or "", self.line or 0, self.column or 0,
                (self.item or "").split("[")[0], -1 if self.index is None else self.index)


@dataclass(frozen=True)
class Problem:
    """One bad annotation, image or file: what, why, where, and what was left out because of it."""

    kind: ProblemKind
    message: str
    where: Where = field(default_factory=Where)
    image: str | None = None
    skipped: Skipped = Skipped.ANNOTATION
    #: How many boxes were left out with it (a skipped image takes all its boxes along).
    boxes: int = 1

    @property
    def is_note(self) -> bool:
        """Whether nothing was left out (a note, which ``--strict`` does not stop at)."""
        return self.skipped is Skipped.NOTHING

    def to_dict(self) -> dict[str, Any]:
        """The manifest form."""
        return {
            "kind": self.kind.value,
            "message": self.message,
            "file": self.where.file,
            "line": self.where.line,
            "column": self.where.column,
            "index": self.where.index,
            "item": self.where.item,
            "image": self.image,
            "skipped": self.skipped.value,
            "boxes": self.boxes if self.skipped is not Skipped.NOTHING else 0,
        }


class Losses:
    """What a conversion cannot carry over, counted: ``what -> how many``.

    Lossy conversions need ``--allow-lossy``; the manifest lists every entry.
    """

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, what: str, count: int = 1) -> None:
        """Count ``count`` occurrences of a kind of loss."""
        if count:
            self.counts[what] += count

    def update(self, other: Losses) -> None:
        """Add another tally to this one."""
        self.counts.update(other.counts)

    def __bool__(self) -> bool:
        return bool(self.counts)

    def describe(self) -> list[str]:
        """One line per kind of loss, most frequent first."""
        return [f"{what} ({count:,})" for what, count in sorted(
            self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def to_list(self) -> list[dict[str, Any]]:
        """The manifest form."""
        return [{"what": what, "count": count} for what, count in sorted(self.counts.items())]


# -- source side (what an importer reads) --------------------------------------------------------


@dataclass(frozen=True)
class SourceCategory:
    """A class as a format declares it: ``key`` is what its annotations refer to."""

    key: int | str
    name: str
    supercategory: str | None = None
    #: The label-map id it must get (from an existing label map); ``None``: numbered 1..N.
    label: int | None = None


@dataclass
class BoxFlags:
    """The per-box flags the OD API keys carry besides class and coordinates."""

    is_crowd: bool = False
    difficult: bool = False
    truncated: bool = False
    occluded: bool = False
    group_of: bool = False
    view: str = ""
    weight: float | None = None
    #: The area in pixels as the source gives it (COCO: the segmentation area).
    area: float | None = None


@dataclass
class SourceBox:
    """A box as the format stores it: corners in pixels, or normalized (``normalized=True``)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    category: int | str
    where: Where
    normalized: bool = False
    flags: BoxFlags = field(default_factory=BoxFlags)
    #: The box as the source writes it, for messages (``bbox [10, 20, 30, 40]``).
    text: str = "box"


@dataclass
class SourceItem:
    """One image as the annotations describe it, before its image file is read."""

    #: The image as the annotations name it (a relative path, a COCO ``file_name``).
    image_ref: str
    #: Where the image file should be (``None``: the importer could not place it).
    image_path: str | None
    source_id: str
    where: Where
    boxes: list[SourceBox] = field(default_factory=list)
    #: The size the annotations declare (width, height), if they declare one.
    declared_size: tuple[int, int] | None = None
    #: ``train``/``eval`` when the source itself splits the data (a YOLO data.yaml).
    split: str | None = None


@dataclass
class SourceData:
    """What an importer read: categories, images with boxes, and the problems met."""

    format: str
    sources: list[str]
    #: Declared categories, or ``None`` when the classes are the names the boxes use.
    categories: list[SourceCategory] | None
    items: list[SourceItem] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    losses: Losses = field(default_factory=Losses)
    #: Format-specific data to keep in the manifest (COCO ``info`` and ``licenses``).
    extras: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# -- canonical side (what the writer writes and exporters read) ---------------------------------


@dataclass
class CanonicalBox:
    """A box in the OD API's terms: normalized corners (float64) and a 1-based class id."""

    ymin: float
    xmin: float
    ymax: float
    xmax: float
    label: int
    text: str
    flags: BoxFlags = field(default_factory=BoxFlags)


@dataclass
class CanonicalSample:
    """One image and its boxes, ready to be written as a tf.Example (or exported).

    ``width``/``height`` are the size of the encoded image as TensorFlow decodes it.
    ``extra_features`` carries features no field here models (masks, keypoints...) verbatim,
    as typed lists (:class:`~tfod_doctor.records.Floats` ...), so a reader-writer round trip keeps
    them.
    """

    image: bytes
    format: str
    width: int
    height: int
    filename: str
    source_id: str
    boxes: list[CanonicalBox] = field(default_factory=list)
    extra_features: dict[str, Any] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        """The hex SHA-256 of the encoded image (``image/key/sha256``)."""
        return hashlib.sha256(self.image).hexdigest()
