"""Every box of the records, gathered once for all the statistics that need them.

A record only extends a few lists (:func:`queue_record`): its corners, its class ids and names
as the decoder resolves them, and one tuple of where it is and its image size. Every few
thousand boxes :func:`take_batch` turns what gathered into numpy arrays (:class:`BoxBatch`),
and each consumer folds the batch into its own counts: the class counts and histograms of
:mod:`~tfod_doctor.checks.statistics`, the per-class statistics of
:mod:`~tfod_doctor.checks.class_stats` and the sample of :mod:`~tfod_doctor.checks.box_sample`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from tfod_doctor.checks._od import Classes
from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.odapi.record import ODRecord

#: A class as the statistics name it: ``(id, name)``, either ``None`` when unknown.
ClassKey = tuple[int | None, str | None]
#: At most this many distinct classes are kept; the rest are counted as other.
MAX_CLASSES = 4096
OTHER_CLASS: ClassKey = (None, "(other)")
#: Boxes gathered before they are turned into a batch.
QUEUED_BOXES = 8192


def _floats() -> array:
    return array("d")


def _ints() -> array:
    return array("q")


@dataclass
class BoxQueue:
    """What records gathered since the last batch, in flat arrays rather than lists of Python
    objects: a worker's memory stays small and is reused batch after batch (holding thousands
    of floats and tuples until the fold cost fresh pages each time). ``table``: the label
    map's names by id, which name the classes of records that carry ids only."""

    table: Mapping[int, str]
    ymin: array = field(default_factory=_floats)
    xmin: array = field(default_factory=_floats)
    ymax: array = field(default_factory=_floats)
    xmax: array = field(default_factory=_floats)
    #: Per class label of a record: its id and name (``None`` for the one the record lacks).
    ids: list[int | None] = field(default_factory=list)
    names: list[str | None] = field(default_factory=list)
    #: Per record: its boxes, class labels, place (file, index, offset) and image size
    #: (``0, 0`` when unknown).
    boxes_per: array = field(default_factory=_ints)
    labels_per: array = field(default_factory=_ints)
    files: list[str] = field(default_factory=list)
    indices: array = field(default_factory=_ints)
    offsets: array = field(default_factory=_ints)
    widths: array = field(default_factory=_floats)
    heights: array = field(default_factory=_floats)
    boxes: int = 0


def new_queue(table: Mapping[int, str] | None) -> BoxQueue:
    """An empty queue; ``table`` as :class:`BoxQueue` says (``None``: no label map)."""
    return BoxQueue(table or {})


def queue_record(queue: BoxQueue, record: ODRecord, classes: Classes, where: RecordPlace,
                 size: tuple[int, int] | None) -> bool:
    """Queue a record whose boxes count (their four lists agree); ``True`` when enough boxes
    gathered for a batch."""
    ymin, xmin, ymax, xmax = record.boxes
    queue.ymin.fromlist(ymin)
    queue.xmin.fromlist(xmin)
    queue.ymax.fromlist(ymax)
    queue.xmax.fromlist(xmax)
    ids, names = classes.ids, classes.names
    labels = len(names) if names is not None else len(ids) if ids is not None else 0
    queue.ids += ids if ids is not None else [None] * labels
    queue.names += names if names is not None else [None] * labels
    width, height = size or (0, 0)
    queue.boxes_per.append(record.n_boxes)
    queue.labels_per.append(labels)
    queue.files.append(where.file)
    queue.indices.append(where.index)
    queue.offsets.append(where.offset)
    queue.widths.append(width)
    queue.heights.append(height)
    queue.boxes += record.n_boxes
    return queue.boxes >= QUEUED_BOXES


def merge_queues(left: BoxQueue, right: BoxQueue) -> None:
    """Append what ``right`` gathered to ``left``."""
    for name in _GATHERED:
        getattr(left, name).extend(getattr(right, name))
    left.boxes += right.boxes


#: The queue's per-box and per-record fields.
_GATHERED = ("ymin", "xmin", "ymax", "xmax", "ids", "names", "boxes_per", "labels_per", "files",
             "indices", "offsets", "widths", "heights")


@dataclass
class BoxBatch:
    """The boxes of a run of records, as arrays.

    Per box: ``ymin``, ``xmin``, ``ymax``, ``xmax`` (normalized), ``width`` and ``height`` of
    its image in pixels (0 when unknown), ``owner`` (its record: an index into ``places``),
    ``box_index`` (its index in the record) and ``box_codes`` (its class, an index into
    ``classes``; -1 when its record has not one class per box). Per class label: ``codes``
    and ``label_owner``. ``places``: per record, ``(file, index, offset)``.
    """

    ymin: np.ndarray
    xmin: np.ndarray
    ymax: np.ndarray
    xmax: np.ndarray
    width: np.ndarray
    height: np.ndarray
    owner: np.ndarray
    box_index: np.ndarray
    box_codes: np.ndarray
    files: list[str]
    indices: np.ndarray
    offsets: np.ndarray
    classes: list[ClassKey]
    codes: np.ndarray
    label_owner: np.ndarray

    def __len__(self) -> int:
        return len(self.ymin)

    @property
    def n_records(self) -> int:
        """How many records the batch holds."""
        return len(self.files)

    def place(self, record: int) -> tuple[str, int, int]:
        """Where record ``record`` of the batch is: ``(file, index, offset)``."""
        return self.files[record], int(self.indices[record]), int(self.offsets[record])


def take_batch(queue: BoxQueue) -> BoxBatch | None:
    """What the queue gathered, as a batch (``None`` when nothing did); empties the queue."""
    n_records = len(queue.files)
    if not n_records:
        return None
    boxes_per, labels_per = np.array(queue.boxes_per), np.array(queue.labels_per)
    owner = np.repeat(np.arange(n_records), boxes_per)
    label_owner = np.repeat(np.arange(n_records), labels_per)
    # The labels are paired twice rather than kept as a list of pairs: a few thousand tuples
    # alive at once would take fresh memory at every batch.
    index = {key: code for code, key in enumerate(dict.fromkeys(_labels(queue)))}
    codes = np.fromiter(map(index.__getitem__, _labels(queue)), np.int64, len(queue.ids))
    batch = BoxBatch(
        *(np.array(side) for side in (queue.ymin, queue.xmin, queue.ymax, queue.xmax)),
        width=np.array(queue.widths)[owner],
        height=np.array(queue.heights)[owner],
        owner=owner,
        box_index=np.arange(len(owner)) - np.repeat(np.cumsum(boxes_per) - boxes_per,
                                                    boxes_per),
        box_codes=_box_codes(codes, boxes_per, labels_per),
        files=list(queue.files),
        indices=np.array(queue.indices),
        offsets=np.array(queue.offsets),
        classes=[_class_key(class_id, name, queue.table) for class_id, name in index],
        codes=codes,
        label_owner=label_owner,
    )
    for name in _GATHERED:
        del getattr(queue, name)[:]  # emptied in place: the next batch reuses the memory
    queue.boxes = 0
    return batch


def _labels(queue: BoxQueue) -> Iterator[tuple[int | None, str | None]]:
    """The queued class labels as ``(id, name)`` pairs."""
    return zip(queue.ids, queue.names, strict=True)


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: ``np.unique`` without its check for a masked array, which
    imports ``numpy.ma`` (25 ms, at the first call of every run of the command)."""
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _box_codes(codes: np.ndarray, boxes_per: np.ndarray, labels_per: np.ndarray) -> np.ndarray:
    """The class of each box: its label's, for records with one label per box, else -1."""
    if np.array_equal(boxes_per, labels_per):
        return codes
    aligned = boxes_per == labels_per
    out = np.full(int(boxes_per.sum()), -1, dtype=np.int64)
    out[np.repeat(aligned, boxes_per)] = codes[np.repeat(aligned, labels_per)]
    return out


def _class_key(class_id: int | None, name: str | None, table: Mapping[int, str]) -> ClassKey:
    """A class label as the decoder resolved it, named as the statistics name classes: the
    label map's name of an id given alone; ids unknown (``-1``) beside a name are ``None``."""
    if name is None:
        return class_id, table.get(class_id)  # type: ignore[arg-type]
    return (None if class_id == -1 else class_id), name
