"""Units of work: a record file (or a byte range of one) and the split of the dataset it feeds."""

from __future__ import annotations

from dataclasses import dataclass

from tfod_doctor.records import Source


@dataclass(frozen=True)
class WorkItem:
    """Read the records of ``source`` whose headers start in ``[start, end)``.

    ``role`` names the dataset split the file feeds (``train``, ``eval``) when a config says so.
    """

    source: Source
    role: str | None = None
    start: int = 0
    end: int | None = None

    @property
    def whole_file(self) -> bool:
        """Whether this item covers the whole file."""
        return self.start == 0 and (self.end is None or self.end >= self.source.size)
