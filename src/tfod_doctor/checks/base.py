"""How checks plug into the engine: record checks, and mergeable dataset aggregators.

A *record check* is a function ``check(view, where, ctx, emit)`` that looks at one decoded record.
An *aggregator* keeps a partial state per split (``new`` / ``add``), merges two partial states
associatively (``merge``) and, once every split is merged, turns the state into findings and
stats (``finish``). The same code runs in one process, in worker processes and on Apache Beam.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from tfod_doctor.checks.context import CheckContext
from tfod_doctor.findings import Finding, FindingTally, Location
from tfod_doctor.records import FeatureView

Emit = Callable[[Finding], None]


@dataclass(slots=True)
class RecordPlace:
    """Where a record is, and which split of the dataset (``train``, ``eval``...) it belongs to.

    Not frozen, because one is made per record and a frozen dataclass costs four times as much
    to make; treat it as a value all the same.
    """

    file: str
    index: int
    offset: int
    role: str | None = None
    #: The size of the record's payload in bytes.
    size: int = 0

    def at(self, key: str | None = None) -> Location:
        """A location for a finding on this record (optionally on one feature key)."""
        return Location(file=self.file, record=self.index, offset=self.offset, key=key)


RecordCheck = Callable[[FeatureView, RecordPlace, CheckContext, Emit], None]


class Aggregator(Protocol):
    """A dataset-level check or statistic, computed as mergeable partial states."""

    name: str

    def new(self) -> Any:
        """An empty partial state."""

    def add(self, state: Any, view: FeatureView, where: RecordPlace, ctx: CheckContext) -> None:
        """Fold one record into a partial state (in place)."""

    def merge(self, left: Any, right: Any) -> Any:
        """Combine two partial states; must be associative, and commutative up to order."""

    def finish(self, state: Any, ctx: CheckContext
               ) -> tuple[Iterable[Finding | FindingTally], dict[str, Any]]:
        """The findings and the JSON-ready stats of a fully merged state (findings past the
        report's cap may come as tallies)."""


def compact(agg: Aggregator, state: Any) -> None:
    """Let an aggregator fold what it gathered in bulk before its state is sent elsewhere
    (its optional ``compact(state)``: work a worker does in parallel, not the merging
    process)."""
    fold = getattr(agg, "compact", None)
    if fold is not None:
        fold(state)


_RECORD_CHECKS: list[RecordCheck] = []
_AGGREGATORS: list[Aggregator] = []


def record_check(func: RecordCheck) -> RecordCheck:
    """Register a record check (a decorator)."""
    _RECORD_CHECKS.append(func)
    return func


def aggregator(agg: Aggregator) -> Aggregator:
    """Register a dataset aggregator (call it with an instance)."""
    _AGGREGATORS.append(agg)
    return agg


def record_checks() -> list[RecordCheck]:
    """Every registered record check, in registration order."""
    _load()
    return list(_RECORD_CHECKS)


def aggregators() -> list[Aggregator]:
    """Every registered aggregator, in registration order."""
    _load()
    return list(_AGGREGATORS)


def _load() -> None:
    # Importing the package imports every check module, which registers its checks.
    import tfod_doctor.checks  # noqa: F401
