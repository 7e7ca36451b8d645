"""The schema actually present: each key with its kinds, how many records carry it, list lengths.

Length distributions are kept as exact histograms (length -> count), so partial states merge
exactly and the median is exact whatever the split of the work.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfod_doctor.checks._schema_token import schema_token
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


#: Records counted by schema and list lengths before they are spread into :data:`Shapes`: per
#: schema token (:func:`schema_token`), the schema and the records per list lengths.
Layouts = dict[str, tuple[tuple, dict[tuple[int, ...], int]]]
#: At most this many distinct (schema, lengths) are counted before they are spread.
_MAX_LAYOUTS = 4096


def _spread(state: dict[str, Any]) -> Shapes:
    """Fold the records counted by schema and lengths into the per-feature shapes; returns them."""
    shapes: Shapes = state["shapes"]
    for schema, by_lengths in state["layouts"].values():
        for lengths, count in by_lengths.items():
            for (key, kind), length in zip(schema, lengths, strict=True):
                shapes[(key, kind, length)] += count
    state["layouts"], state["count"] = {}, 0
    return shapes


class SchemaInventory:
    """Aggregator: the keys present in the records, their kinds and list lengths.

    The state counts records per (key, kind, list length), and merging is adding counts.
    Records are first counted whole, by schema (``FeatureView.schema``) and list lengths — one
    dictionary update per record, as records nearly all share a few of these — and spread into
    the per-feature counts when merged, finished, or when too many different ones gather.
    """

    name = "schema"

    def new(self) -> dict[str, Any]:
        return {"shapes": Counter(), "layouts": {}, "count": 0}

    def add(self, state: dict[str, Any], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        token = schema_token(view)
        layout = state["layouts"].get(token)
        if layout is None:
            layout = state["layouts"][token] = (view.schema, {})
        by_lengths = layout[1]
        lengths = view.lengths()
        count = by_lengths.get(lengths)
        if count is not None:
            by_lengths[lengths] = count + 1
            return
        by_lengths[lengths] = 1
        state["count"] += 1
        if state["count"] >= _MAX_LAYOUTS:
            _spread(state)

    def merge(self, left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
        _spread(left).update(_spread(right))
        return left

    def finish(self, state: dict[str, Any], ctx: CheckContext) -> tuple[list, dict[str, Any]]:
        per_key: dict[str, KeyStats] = {}
        for (key, kind, length), count in _spread(state).items():
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
