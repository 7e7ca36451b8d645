"""Cutting the work into pieces for parallel readers: whole files, and byte ranges of large ones.

A large plain TFRecord file on the local disk is cut where items of it start, found by following
its record headers (:meth:`~tfod_doctor.records.RecordReader.chain`: a few bytes per record),
so every piece starts on a record with its true index in the file. Compressed files, files that
are not TFRecords, and remote files (where following headers would mean reading everything
twice) are read whole. Small files are batched into one task so that many small shards do not
cost a round trip each.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from tfod_doctor.engine.work import WorkItem
from tfod_doctor.records import FileKind, RecordReader, sniff_file
from tfod_doctor.records.sniff import SNIFF_BYTES

MIN_SPLIT_BYTES = 4 << 20
MAX_SPLIT_BYTES = 64 << 20
#: At most this many whole files go into one task.
_TASK_ITEMS = 256


def split_size(total_bytes: int, workers: int) -> int:
    """A piece size that gives every worker about two pieces, within sane bounds.

    Two per worker balance the load; more would make the parent follow the record headers of
    files that are already pieces of the right size (a few microseconds per record).
    """
    return max(MIN_SPLIT_BYTES, min(MAX_SPLIT_BYTES, total_bytes // max(2 * workers, 1)))


def splittable(item: WorkItem, split_bytes: int) -> bool:
    """Whether an item is worth cutting: a whole local file of more than 1.5 pieces."""
    return (
        item.whole_file
        and item.source.protocol == "file"
        and item.source.size * 2 > split_bytes * 3
    )


def split_items(items: Iterable[WorkItem], split_bytes: int) -> Iterator[WorkItem]:
    """The items, with large local TFRecord files cut into pieces of about ``split_bytes``."""
    for item in items:
        if splittable(item, split_bytes):
            yield from cut(item, split_bytes)
        else:
            yield item


def cut(item: WorkItem, split_bytes: int) -> Iterator[WorkItem]:
    """Cut one file into pieces of about ``split_bytes`` that start where records start.

    Yields the item whole when it is no plain TFRecord file or cannot be read (reading it will
    then say what is wrong).
    """
    source = item.source
    count = max(1, round(source.size / split_bytes))
    target = -(-source.size // count)
    start, first_index = 0, 0
    try:
        with source.open() as handle:
            if sniff_file(handle.read(SNIFF_BYTES)) is not FileKind.TFRECORD:
                yield item
                return
            reader = RecordReader(handle, source.size, source.name)
            next_cut = target
            for offset, index in reader.chain():
                if offset >= next_cut:
                    yield WorkItem(source, item.role, start, offset, first_index)
                    start, first_index = offset, index
                    next_cut = offset + target
            yield WorkItem(source, item.role, start, None, first_index)
    except OSError:
        if start == 0:
            yield item
        else:  # the file went away mid-way: the last piece will say so
            yield WorkItem(source, item.role, start, None, first_index)


def tasks(items: Iterable[WorkItem], split_bytes: int) -> Iterator[Sequence[WorkItem]]:
    """Work for one worker at a time: one piece of a large file, one file of at least half a
    piece, or smaller files batched up to about ``split_bytes``."""
    batch: list[WorkItem] = []
    batch_bytes = 0
    for item in split_items(items, split_bytes):
        if not item.whole_file or item.length * 2 >= split_bytes:
            yield (item,)
            continue
        batch.append(item)
        batch_bytes += item.length
        if batch_bytes >= split_bytes or len(batch) >= _TASK_ITEMS:
            yield tuple(batch)
            batch, batch_bytes = [], 0
    if batch:
        yield tuple(batch)
