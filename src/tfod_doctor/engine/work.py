"""Units of work: a record file (or a byte range of one) and the split of the dataset it feeds."""

from __future__ import annotations

from dataclasses import dataclass

from tfod_doctor.records import Source


@dataclass(frozen=True)
class WorkItem:
    """Read the records of ``source`` whose headers start in ``[start, end)``.

    ``role`` names the dataset split the file feeds (``train``, ``eval``) when a config says so.
    A piece of a file starts exactly where an item of it starts (see
    :meth:`~tfod_doctor.records.RecordReader.chain`), and ``first_index`` is that item's index
    in the file, so records keep their true indices however the file is cut.
    """

    source: Source
    role: str | None = None
    start: int = 0
    end: int | None = None
    first_index: int = 0

    @property
    def whole_file(self) -> bool:
        """Whether this item covers the whole file."""
        return self.start == 0 and (self.end is None or self.end >= self.source.size)

    @property
    def last(self) -> bool:
        """Whether this item reaches the end of its file."""
        return self.end is None or self.end >= self.source.size

    @property
    def length(self) -> int:
        """How many bytes of the file this item covers."""
        return (self.source.size if self.end is None else min(self.end, self.source.size)) - (
            self.start
        )
