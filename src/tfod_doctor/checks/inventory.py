"""The schema actually present: each key with its kinds, how many records carry it, list lengths.

Length distributions are kept as exact histograms (length -> count), so partial states merge
exactly and the median is exact whatever the split of the work.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.records import FeatureView, Kind


class KeyStats:
    """Per key: kinds seen (with counts) and the histogram of list lengths."""

    __slots__ = ("kinds", "lengths")

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.lengths: Counter[int] = Counter()


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


#: (key, kind, list length) -> how many records have a feature of that shape.
Shapes = Counter[tuple[str, Kind, int]]


class SchemaInventory:
    """Aggregator: the keys present in the records, their kinds and list lengths.

    The state counts records per (key, kind, list length) — one counter update per record — and
    merging is adding counts.
    """

    name = "schema"

    def new(self) -> Shapes:
        return Counter()

    def add(self, state: Shapes, view: FeatureView, where: RecordPlace, ctx: CheckContext) -> None:
        state.update(view.shapes())

    def merge(self, left: Shapes, right: Shapes) -> Shapes:
        left.update(right)
        return left

    def finish(self, state: Shapes, ctx: CheckContext) -> tuple[list, dict[str, Any]]:
        per_key: dict[str, KeyStats] = {}
        for (key, kind, length), count in state.items():
            stats = per_key.setdefault(key, KeyStats())
            stats.kinds[kind.value] += count
            stats.lengths[length] += count
        schema = {}
        for key in sorted(per_key):
            stats = per_key[key]
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
