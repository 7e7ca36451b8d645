"""Running the repairs over record files: a planning pass, then (with ``apply``) the writing pass.

The first pass reads every intact record (salvaging damaged and compressed files), repairs it in
memory and learns what the dataset-level repairs need (duplicate source ids, class names the
label map lacks). The second pass repeats the repairs with that knowledge and, when applying,
writes the records to new shards and a manifest line for every input record. Inputs are only
ever read.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tfod_doctor.converters.shards import ShardedWriter, Sharding
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.labels import LabelTable
from tfod_doctor.records import (
    ExampleDecodeError,
    FeatureView,
    InputProblem,
    Kind,
    Source,
    salvage,
)
from tfod_doctor.records.sniff import FileKind
from tfod_doctor.repair.record import Change, EditableRecord
from tfod_doctor.repair.transforms import (
    RENAME_ON_EVIDENCE,
    DatasetFacts,
    RepairOptions,
    RepairState,
    choose_layout,
    repair_record,
    unfixable,
)

MANIFEST = "manifest.jsonl"
_RECORD_KINDS = (FileKind.TFRECORD, FileKind.TFRECORD_GZIP, FileKind.TFRECORD_ZLIB)
#: Progress callback: advanced by the bytes of input read (both passes count).
Progress = Callable[[int], None]


@dataclass(frozen=True)
class RecordSet:
    """Input files whose records go to one set of output shards (``NAME-0000k-of-0000N``)."""

    name: str
    sources: Sequence[Source]


@dataclass
class Outcome:
    """What happened to one input record: its new payload (``None``: dropped) and the changes."""

    file: str
    index: int
    offset: int
    payload: bytes | None
    changes: list[Change]
    dropped: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the output record differs from the input record."""
        return any(change.done for change in self.changes)


@dataclass
class SetSummary:
    """Counts of one record set after the repairs."""

    name: str
    records_in: int = 0
    records_out: int = 0
    records_changed: int = 0
    dropped: int = 0
    outputs: list[str] = field(default_factory=list)


@dataclass
class RepairPlan:
    """What ``fix`` did or would do to the records."""

    sets: list[SetSummary] = field(default_factory=list)
    #: ``(repair, rule)`` -> records it changed / boxes it touched.
    records_by_change: Counter[tuple[str, str]] = field(default_factory=Counter)
    boxes_by_change: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: ``(repair, rule, detail)`` of changes that could not be made, with how often.
    not_done: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: Keys renamed on the evidence of their values: the rename and its evidence, how often.
    renamed_on_evidence: Counter[str] = field(default_factory=Counter)
    #: Salvage reports of files that were damaged or compressed (``SalvageReport.to_dict``);
    #: a file of which nothing could be read has an ``error``, a sentence that names it.
    salvaged: list[dict[str, Any]] = field(default_factory=list)
    facts: DatasetFacts = field(default_factory=DatasetFacts)
    applied: bool = False
    #: The layout flat box lists were read in (``None``: there were none).
    layout: str | None = None

    @property
    def records_in(self) -> int:
        """Readable input records."""
        return sum(s.records_in for s in self.sets)

    @property
    def records_out(self) -> int:
        """Records written (or that would be written)."""
        return sum(s.records_out for s in self.sets)

    def count(self, outcome: Outcome) -> None:
        """Add one record's changes to the totals."""
        seen: set[tuple[str, str]] = set()
        for change in outcome.changes:
            key = (change.repair, change.rule)
            if not change.done:
                self.not_done[(*key, _generic(change.detail))] += 1
                continue
            if key not in seen:
                self.records_by_change[key] += 1
                seen.add(key)
            if change.repair == RENAME_ON_EVIDENCE:
                self.renamed_on_evidence[change.detail] += 1
            self.boxes_by_change[key] += change.boxes

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "applied": self.applied,
            "records_in": self.records_in,
            "records_out": self.records_out,
            "sets": [vars(s) for s in self.sets],
            "changes": [{"repair": r, "rule": rule, "records": n,
                         "boxes": self.boxes_by_change[(r, rule)]}
                        for (r, rule), n in sorted(self.records_by_change.items())],
            "not_done": [{"repair": r, "rule": rule, "detail": d, "records": n}
                         for (r, rule, d), n in sorted(self.not_done.items())],
            "salvaged": self.salvaged,
            "renamed_on_evidence": [{"detail": d, "records": n}
                                    for d, n in sorted(self.renamed_on_evidence.items())],
            "box_layout": self.layout,
        }


def _generic(detail: str) -> str:
    """A detail without its record-specific numbers, to count alike notes together."""
    return "".join("N" if ch.isdigit() else ch for ch in detail)


def repair_payload(payload: bytes, state: RepairState) -> tuple[bytes | None, list[Change], str]:
    """One record repaired: (the payload to write, changes, why it is not written).

    The payload is ``None`` for a record that is dropped (``--drop-unfixable``); a record that
    is no ``tf.train.Example`` is kept as it is unless so.
    """
    try:
        view = FeatureView.from_payload(payload)
    except ExampleDecodeError as exc:
        why = f"not a tf.train.Example ({exc})"
        return (None, [], why) if state.options.drop_unfixable else (payload, [], "")
    before = view.to_python()
    rec = EditableRecord.from_view(view)
    repair_record(rec, state)
    why = unfixable(rec) if state.options.drop_unfixable else None
    if why is not None:
        return None, rec.changes, why
    source_id = rec.first(K.SOURCE_ID, Kind.BYTES)
    if source_id:
        state.ids_kept[source_id] += 1
    if rec.features == before:
        return payload, rec.changes, ""
    return rec.payload(), rec.changes, ""


def _outcomes(source: Source, state: RepairState, plan: RepairPlan,
              progress: Progress | None) -> Iterator[Outcome]:
    done = 0
    try:
        with salvage(source) as found:
            for record in found:
                payload, changes, why = repair_payload(record.payload, state)
                if progress is not None:
                    progress(record.end - done)
                    done = record.end
                yield Outcome(source.name, record.index, record.offset, payload, changes,
                              why or None)
    except OSError as exc:
        plan.salvaged.append({"file": source.name,
                              "error": f"{source.name} cannot be read: {exc.strerror or exc}"})
        return
    report = found.report
    if report.kind is FileKind.EMPTY and not report.damaged:
        return  # a valid TFRecord file of no records (an empty shard): nothing to salvage
    if report.damaged or report.kind not in (FileKind.TFRECORD,):
        entry = report.to_dict()
        if report.kind not in _RECORD_KINDS and not report.records:
            entry["error"] = (f"{source.name} is not a TFRecord file: it looks like a "
                              f"{report.kind.value}")
        plan.salvaged.append(entry)


def _learn(sets: Sequence[RecordSet], options: RepairOptions, progress: Progress | None
           ) -> DatasetFacts:
    """The first pass: what the dataset-level repairs need to know."""
    state = RepairState(options)
    facts = DatasetFacts()
    scratch = RepairPlan()
    for record_set in sets:
        for source in record_set.sources:
            for _ in _outcomes(source, state, scratch, progress):
                pass
    facts.source_ids = state.ids_kept
    facts.unknown_texts = state.facts.unknown_texts
    facts.class_pairs = state.facts.class_pairs
    facts.layout_tally = state.facts.layout_tally
    return facts


def plan_repair(
    sets: Sequence[RecordSet], options: RepairOptions, *, out: Path | None = None,
    sharding: Sharding | None = None, progress: Progress | None = None,
    adjust: Callable[[DatasetFacts], LabelTable | None] | None = None,
    on_total: Callable[[int], None] | None = None,
    unreadable: Sequence[InputProblem] = (),
) -> RepairPlan:
    """Repair every record of ``sets``; with ``out``, write the shards and the manifest there.

    ``unreadable`` are input files that matched but cannot be read: none of their records can
    be in the output, so the plan and the manifest name each of them with why.

    ``adjust`` sees what the first pass learned and may return the label map the second pass
    uses instead of ``options.label_map`` (the label map as ``fix`` will write it, with the
    classes the first pass found missing). Flat box lists are read in the layout the first pass
    found (:func:`choose_layout`). ``on_total`` is told how many bytes ``progress`` will count
    (both passes).
    """
    if on_total is not None:
        on_total(2 * sum(source.size or 0 for s in sets for source in s.sources))
    facts = _learn(sets, options, progress)
    options = choose_layout(facts, options)
    table = adjust(facts) if adjust is not None else None
    if table is not None:
        options = replace(options, label_map=table)
    plan = RepairPlan(facts=facts, applied=out is not None,
                      layout=options.layout.key if options.layout else None)
    plan.salvaged.extend({"file": problem.input, "error": problem.message}
                         for problem in unreadable)
    state = RepairState(options, facts)
    manifest = _Manifest(out) if out is not None else None
    for record_set in sets:
        summary = SetSummary(record_set.name)
        plan.sets.append(summary)
        writer = (ShardedWriter(out, record_set.name, sharding or Sharding())
                  if out is not None else None)
        try:
            for source in record_set.sources:
                for outcome in _outcomes(source, state, plan, progress):
                    _take(outcome, summary, plan, writer, manifest)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        if writer is not None:
            summary.outputs = [str(p) for p in writer.close()]
            manifest.finish_set(writer)
    for entry in plan.salvaged:
        if manifest is not None:
            manifest.lost(entry)
    if manifest is not None:
        manifest.close()
    return plan


def _take(outcome: Outcome, summary: SetSummary, plan: RepairPlan,
          writer: ShardedWriter | None, manifest: _Manifest | None) -> None:
    summary.records_in += 1
    plan.count(outcome)
    if outcome.payload is None:
        summary.dropped += 1
        if manifest is not None:
            manifest.dropped(outcome)
        return
    summary.records_out += 1
    summary.records_changed += outcome.changed
    if writer is not None and manifest is not None:
        shard, position = writer.write(outcome.payload)
        manifest.written(outcome, writer.name, shard, position)


class _Manifest:
    """``manifest.jsonl``: a line per input record (where it went, what changed), per loss.

    Lines name shards by their place while writing; :meth:`finish_set` rewrites them with the
    final shard names once the shard count is known.
    """

    def __init__(self, out: Path) -> None:
        self.path = out / MANIFEST
        self._pending = out / f".{MANIFEST}.partial"
        self._final = self._pending.open("w", encoding="utf-8")
        self._lines = (out / f".{MANIFEST}.set.partial").open("w+", encoding="utf-8")

    def _write(self, handle: Any, entry: dict[str, Any]) -> None:
        handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=False) + "\n")

    def written(self, outcome: Outcome, name: str, shard: int, position: int) -> None:
        """A record written to shard ``shard`` (by its place) at ``position``."""
        self._write(self._lines, {
            "input": outcome.file, "index": outcome.index, "offset": outcome.offset,
            "output": [name, shard], "output_index": position,
            "changes": [c.to_dict() for c in outcome.changes]})

    def dropped(self, outcome: Outcome) -> None:
        """A record not written, with the reason."""
        self._write(self._final, {"input": outcome.file, "index": outcome.index,
                                  "offset": outcome.offset, "dropped": outcome.dropped,
                                  "changes": [c.to_dict() for c in outcome.changes]})

    def lost(self, entry: dict[str, Any]) -> None:
        """What salvaging a damaged, compressed or unreadable file found."""
        self._write(self._final, {"input": entry.get("file"), "salvage": entry})

    def finish_set(self, writer: ShardedWriter) -> None:
        """Give the lines of one record set their final shard names."""
        names = writer.final_names
        self._lines.seek(0)
        for line in self._lines:
            entry = json.loads(line)
            entry["output"] = names[entry["output"][1]]
            self._write(self._final, entry)
        self._lines.seek(0)
        self._lines.truncate()

    def close(self) -> None:
        """Move the manifest to its final name."""
        self._lines.close()
        os.unlink(self._lines.name)
        self._final.close()
        os.replace(self._pending, self.path)
