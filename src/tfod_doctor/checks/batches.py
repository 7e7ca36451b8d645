"""C023: records that a pipeline.config reader never batches (``drop_remainder`` with epochs)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tfod_doctor.catalogue import config as C
from tfod_doctor.checks.base import RecordPlace, aggregator
from tfod_doctor.checks.context import Batching, CheckContext
from tfod_doctor.findings import Finding, Severity
from tfod_doctor.records import FeatureView


def batch_finding(role: str, records: int, batching: Batching) -> Finding | None:
    """The finding for a split of ``records`` records read as ``batching`` says, if any."""
    if records == 0 or batching.num_epochs <= 0 or not batching.drop_remainder:
        return None
    kept = -(-records // batching.sample_1_of_n)
    total = kept * batching.num_epochs
    size = batching.batch_size
    evidence = {"records": records, "read": total, "batch_size": size,
                "num_epochs": batching.num_epochs, "source_line": batching.source_line}
    if total < size:
        return C.BATCH_DROPS_RECORDS.finding(
            f"the {role} reader yields {total} record(s) (num_epochs: {batching.num_epochs}) but "
            f"a batch needs {size}: drop_remainder leaves no batch at all, so there is nothing "
            f"to {'train' if role == 'train' else 'evaluate'} on",
            batching.location, severity=Severity.ERROR, **evidence)
    dropped = total % size
    if dropped == 0:
        return None
    return C.BATCH_DROPS_RECORDS.finding(
        f"the {role} reader yields {total} record(s) in batches of {size}: the last {dropped} "
        "never make a full batch and are dropped (drop_remainder)", batching.location,
        dropped=dropped, **evidence)


class SplitSizes:
    """Aggregator: records per split, checked against the config's batching."""

    name = "split_sizes"

    def new(self) -> Counter[str]:
        return Counter()

    def add(self, state: Counter[str], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        if where.role:
            state[where.role] += 1

    def merge(self, left: Counter[str], right: Counter[str]) -> Counter[str]:
        left.update(right)
        return left

    def finish(self, state: Counter[str], ctx: CheckContext) -> tuple[list, dict[str, Any]]:
        findings = [batch_finding(role, state.get(role, 0), batching)
                    for role, batching in sorted(ctx.batching.items())]
        stats = {"splits": dict(sorted(state.items()))} if state else {}
        return [f for f in findings if f is not None], stats


aggregator(SplitSizes())
