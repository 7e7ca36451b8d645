"""The duplicate tables (D001/D003/D004): merged partial states say what one pass would say."""

from __future__ import annotations

import pickle
from functools import reduce
from itertools import pairwise

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tfod_doctor.checks.base import RecordPlace
from tfod_doctor.checks.context import CheckContext
from tfod_doctor.checks.dataset import DuplicateAggregator, LocatedHashes, _State
from tfod_doctor.findings import FindingTally
from tfod_doctor.report.model import FindingStore

_FILES = ["b.tfrecord", "a.tfrecord", "c.tfrecord"]
_ROLES = ["train", "eval", None]

entries = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(_FILES),
                             st.sampled_from(_ROLES), st.integers(0, 50)), max_size=40)


def _table(rows: list[tuple[int, str, str | None, int]]) -> LocatedHashes:
    table = LocatedHashes()
    for key, file, role, index in rows:
        table.add(key, RecordPlace(file, index, 10 * index, role))
    return table


def _seen(table: LocatedHashes) -> list[tuple]:
    return [(table.location(e, "k").to_dict(), table.role(e)) for e in range(len(table.keys))]


@settings(max_examples=200, deadline=None)
@given(entries, st.lists(st.integers(0, 40), max_size=4))
def test_merged_tables_find_the_groups_of_one_table(rows, cuts):
    """Any split into partial states, merged left or right first, gives the same entries,
    locations, splits and groups as adding every entry to one table."""
    bounds = [0, *sorted(min(c, len(rows)) for c in cuts), len(rows)]
    parts = [rows[a:b] for a, b in pairwise(bounds)]
    whole = _table(rows)
    left = reduce(lambda acc, part: acc.merge(_table(part)), parts[1:], _table(parts[0]))
    right = reduce(lambda acc, part: _table(part).merge(acc), parts[-2::-1], _table(parts[-1]))
    for merged in (left, right, pickle.loads(pickle.dumps(left))):
        assert _seen(merged) == _seen(whole)
        for by_role in (True, False):
            assert merged.groups(by_role) == whole.groups(by_role)


def test_adding_after_a_merge_keeps_each_entry_where_it_was_seen():
    """A run that continues across a merge, then new entries: every entry keeps its file."""
    first, second = _table([(1, "a", "train", 0)]), _table([(2, "b", "eval", 0)])
    merged = first.merge(second)
    merged.add(1, RecordPlace("b", 1, 10, "eval"))
    merged.add(3, RecordPlace("a", 2, 20, "train"))
    assert [(loc["file"], role) for loc, role in _seen(merged)] == [
        ("a", "train"), ("b", "eval"), ("b", "eval"), ("a", "train")]
    assert merged.groups(by_role=False) == [[0, 2]]
    assert merged.groups(by_role=True) == []


@settings(max_examples=200, deadline=None)
@given(entries)
def test_groups_are_the_entries_sharing_a_key_in_reading_order(rows):
    """Groups as their definition says, worked out one entry at a time: the entries that share
    a key (and a split), each group in file-name then record order, groups by split then key."""
    table = _table(rows)
    role_rank = {role: table.roles.index(role) for role in table.roles}
    for by_role in (True, False):
        shared: dict[tuple, list[int]] = {}
        for entry, (key, _, role, _) in enumerate(rows):
            shared.setdefault((role_rank[role] if by_role else 0, key), []).append(entry)
        expected = [sorted(group, key=lambda e: (rows[e][1], rows[e][3], e))
                    for _, group in sorted(shared.items()) if len(group) > 1]
        assert table.groups(by_role) == expected


def _report_of(state: _State, made_with_cap: int, kept: int) -> tuple[list[dict], dict]:
    """The D findings a report of ``kept`` findings per rule shows, and its counts, when the
    aggregator is told the cap is ``made_with_cap``."""
    store = FindingStore(kept)
    ctx = CheckContext(max_findings_per_rule=made_with_cap)
    findings, _ = DuplicateAggregator().finish(state, ctx)
    store.extend(findings)
    return [f.to_dict() for f in store.findings()], dict(store.counts)


# Two copies at one place (a file read twice): the report keeps the one whose message sorts
# first, which is not the one met first.
_TWO_AT_ONE_PLACE = [(1, "a", "train", 1), (2, "a", "train", 0), (1, "b", "train", 5),
                     (2, "b", "train", 5)]


@settings(max_examples=200, deadline=None)
@given(entries, entries, st.integers(1, 6))
@example(ids=[], images=_TWO_AT_ONE_PLACE, cap=1)
def test_findings_past_the_cap_are_tallied_as_the_report_would_count_them(ids, images, cap):
    """D001, D003 and D004 made only up to the cap (the rest tallied) give the report that
    making every finding and letting the report cap them gives: same findings, same counts."""
    state = _State(source_ids=_table(ids), images=_table(images))
    assert _report_of(state, cap, cap) == _report_of(state, 10**9, cap)


def test_a_dataset_listed_many_times_makes_only_the_findings_it_shows():
    """Every image 50 times over: 4,900 duplicates, of which 10 are made and the rest tallied."""
    rows = [(key, f"copy-{copy:02d}.tfrecord", "train", key)
            for copy in range(50) for key in range(100)]
    state = _State(source_ids=_table(rows), images=_table(rows))
    findings = list(DuplicateAggregator().finish(state, CheckContext(max_findings_per_rule=10))[0])
    made = [f for f in findings if not isinstance(f, FindingTally)]
    assert sorted({f.rule for f in made}) == ["D001", "D003"] and len(made) == 20
    assert sum(f.count for f in findings if isinstance(f, FindingTally)) == 2 * (4900 - 10)
    shown, counts = _report_of(state, 10, 10)
    files = [f["location"]["file"] for f in shown if f["rule"] == "D003"]
    assert files == ["copy-01.tfrecord"] * 10
    assert sum(counts.values()) == 2 * 4900
