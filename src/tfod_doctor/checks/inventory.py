"""The schema actually present: each key with its kinds, how many records carry it, list lengths.

Length distributions are kept as exact histograms (length -> count), so partial states merge
exactly and the median is exact whatever the split of the work.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.records import FeatureView


class KeyStats:
    """Per key: kinds seen (with counts) and the histogram of list lengths."""

    __slots__ = ("kinds", "lengths")

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.lengths: Counter[int] = Counter()

    def merge(self, other: KeyStats) -> KeyStats:
        self.kinds.update(other.kinds)
        self.lengths.update(other.lengths)
        return self


def _median(histogram: Counter[int]) -> float:
    total = sum(histogram.values())
    if total == 0:
        return 0.0
    lows = (total - 1) // 2, total // 2
    picks: list[int] = []
    seen = 0
    for value in sorted(histogram):
        count = histogram[value]
        for target in lows:
            if seen <= target < seen + count and len(picks) < 2:
                picks.append(value)
        seen += count
    return sum(picks) / len(picks)


class SchemaInventory:
    """Aggregator: the keys present in the records, their kinds and list lengths."""

    name = "schema"

    def new(self) -> dict[str, KeyStats]:
        return {}

    def add(
        self, state: dict[str, KeyStats], view: FeatureView, where: RecordPlace, ctx: CheckContext
    ) -> None:
        for key, kind in view.kinds.items():
            stats = state.get(key)
            if stats is None:
                stats = state[key] = KeyStats()
            stats.kinds[kind.value] += 1
            stats.lengths[len(view[key])] += 1

    def merge(self, left: dict[str, KeyStats], right: dict[str, KeyStats]) -> dict[str, KeyStats]:
        for key, stats in right.items():
            if key in left:
                left[key].merge(stats)
            else:
                left[key] = stats
        return left

    def finish(self, state: dict[str, KeyStats], ctx: CheckContext) -> tuple[list, dict[str, Any]]:
        schema = {}
        for key in sorted(state):
            stats = state[key]
            schema[key] = {
                "kinds": dict(sorted(stats.kinds.items())),
                "records": sum(stats.kinds.values()),
                "length": {
                    "min": min(stats.lengths),
                    "median": _median(stats.lengths),
                    "max": max(stats.lengths),
                },
            }
        return [], {"schema": schema}


aggregator(SchemaInventory())
