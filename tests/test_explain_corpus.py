"""``explain`` on what users really paste: error texts cut from public threads, each with its
source, the cause the thread established and the rules that find it (tests/data/explain_corpus).

Every text must be explained with the thread's cause; errors that are not about the data
(installation, GPU, memory) must never be blamed on a data rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tfod_doctor.explain import explain

CORPUS = Path(__file__).parent / "data" / "explain_corpus"
FIELDS = ("source", "entry", "rules", "about_files", "family", "cause")


@dataclass(frozen=True)
class Case:
    """One error text as a user posted it, and what its thread established."""

    name: str
    source: str
    entry: str
    rules: tuple[str, ...]
    about_files: bool
    family: str
    cause: str
    text: str


def _read(path: Path) -> Case:
    head, _, text = path.read_text(encoding="utf-8").partition("\n---\n")
    fields = {key.strip(): value.strip() for key, _, value in
              (line.partition(":") for line in head.splitlines())}
    assert set(fields) == set(FIELDS), f"{path.name}: header fields {sorted(fields)}"
    return Case(path.stem, fields["source"], fields["entry"], tuple(fields["rules"].split()),
                fields["about_files"] == "yes", fields["family"], fields["cause"], text)


CASES = [_read(path) for path in sorted(CORPUS.glob("*.txt"))]


def _verdict(case: Case) -> str | None:
    """Why ``explain`` gets the case wrong, or ``None`` when it is right."""
    found = explain(case.text)
    if found is None:
        return "not recognised"
    rules = [rule.id for rule in found.rules]
    if found.name != case.entry:
        return f"explained as {found.name}, the thread says {case.entry}"
    if not set(case.rules) <= set(rules):
        return f"rules {rules} lack {sorted(set(case.rules) - set(rules))}"
    if found.about_files != case.about_files:
        return f"about_files {found.about_files}, expected {case.about_files}"
    if not case.about_files and rules:
        return f"a non-data error blamed on data rules {rules}"
    return None


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_corpus_text_is_explained_with_the_threads_cause(case):
    assert _verdict(case) is None, f"{case.source}: {_verdict(case)}"


def test_corpus_share_explained_right_is_all_of_it():
    wrong = {case.name: _verdict(case) for case in CASES if _verdict(case) is not None}
    share = 1 - len(wrong) / len(CASES)
    print(f"explain corpus: {len(CASES) - len(wrong)}/{len(CASES)} explained right "
          f"({share:.0%})")
    assert not wrong, f"{share:.0%} explained right; wrong: {wrong}"


def test_the_corpus_covers_the_families_and_links_public_threads():
    assert len(CASES) >= 80
    families = {case.family for case in CASES}
    assert {"wording", "model", "several-causes", "not-data"} <= families
    assert sum(not case.about_files for case in CASES) >= 15
    assert all(case.source.startswith("https://github.com/") for case in CASES)
    assert len({case.text for case in CASES}) == len(CASES), "a text appears twice"
