"""R rules: turn what the records layer met (damage, odd files, bad inputs) into findings."""

from __future__ import annotations

from tfod_doctor.catalogue import records as R
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.records import Damage, DamageKind, FileKind, InputProblem, ProblemKind
from tfod_doctor.records.sniff import SNIFF_BYTES, sniff_file
from tfod_doctor.records.sources import shard_set

_DAMAGE_RULES = {
    DamageKind.CORRUPTED_LENGTH: R.CORRUPTED_LENGTH,
    DamageKind.CORRUPTED_PAYLOAD: R.CORRUPTED_PAYLOAD,
    DamageKind.TRUNCATED: R.TRUNCATED,
    DamageKind.CUT_IN_HEADER: R.CUT_IN_HEADER,
}

_DAMAGE_TITLES = {
    DamageKind.CORRUPTED_LENGTH: "Corrupted record header",
    DamageKind.CORRUPTED_PAYLOAD: "Corrupted record data",
    DamageKind.TRUNCATED: "Truncated record",
    DamageKind.CUT_IN_HEADER: "File cut inside a record header",
}

_PROBLEM_RULES = {
    ProblemKind.NOT_FOUND: R.INPUT_NOT_FOUND,
    ProblemKind.GLOB_MATCHES_NOTHING: R.GLOB_MATCHES_NOTHING,
    ProblemKind.NO_RECORD_FILES: R.NO_RECORD_FILES,
    ProblemKind.UNREADABLE: R.UNREADABLE,
    ProblemKind.MISSING_SHARDS: R.MISSING_SHARDS,
}


def damage_finding(
    damage: Damage, recovered_after: int | None = None, compressed: bool = False
) -> Finding:
    """The finding for a damaged stretch of a file, with TensorFlow's message as evidence.

    ``recovered_after`` is how many intact records this reader found after the damage: the
    records TensorFlow never reads, since it stops at the damage. ``compressed``: the offsets
    count in the decompressed bytes of a GZIP/ZLIB file, as TensorFlow's messages do.
    """
    rule = _DAMAGE_RULES[damage.kind]
    where = "byte" if not compressed else "decompressed byte"
    message = (
        f"{_DAMAGE_TITLES[damage.kind]} at {where} {damage.offset} "
        f"(record {damage.record}): {damage.detail}; bytes {damage.offset}-{damage.end} "
        f"({damage.lost_bytes:,} bytes) are lost"
    )
    if recovered_after and damage.stops_tensorflow:
        message += (
            f". TensorFlow stops here and never reads the {recovered_after} intact "
            f"record{'s' if recovered_after != 1 else ''} after it"
        )
    elif recovered_after:
        message += f"; {recovered_after} intact records follow"
    evidence: dict = {
        "record_start": damage.offset,
        "lost_range": [damage.offset, damage.end],
        "lost_bytes": damage.lost_bytes,
    }
    if damage.length is not None:
        evidence["announced_length"] = damage.length
    if damage.tf_message:
        evidence["tensorflow"] = damage.tf_message
    if recovered_after is not None:
        evidence["records_recovered_after"] = recovered_after
    if compressed:
        evidence["offsets_in"] = "decompressed data"
    return rule.finding(
        message,
        Location(file=damage.file, record=damage.record, offset=damage.tf_offset),
        **evidence,
    )


def input_problem_finding(problem: InputProblem) -> Finding:
    """The finding for an input that yields no files (or not all of them)."""
    rule = _PROBLEM_RULES[problem.kind]
    return rule.finding(problem.message, Location(file=problem.input), **problem.evidence)


def not_a_tfrecord_finding(name: str, kind: FileKind, inner: FileKind | None = None) -> Finding:
    """The finding for a file that holds no TFRecord framing at all, saying what it is instead.

    ``inner`` is what a GZIP/ZLIB file holds once decompressed.
    """
    message = f"{name} is not a TFRecord file: {kind.phrase}"
    evidence = {"detected": kind.value}
    if inner is not None:
        message += f" holding {_without_article(inner)}" if inner is not FileKind.EMPTY else ""
        evidence["decompressed"] = inner.value
    return R.NOT_A_TFRECORD.finding(
        message, Location(file=name, offset=0), tensorflow=R.NOT_A_TFRECORD.tf_message,
        **evidence,
    )


def _without_article(kind: FileKind) -> str:
    return kind.phrase.removeprefix("it looks like ").removeprefix("it holds ")


def compressed_finding(name: str, kind: FileKind, records: int, error: str | None) -> Finding:
    """The finding for a GZIP/ZLIB-compressed TFRecord file (readable here, not by the OD API)."""
    message = (
        f"{name} is a {kind.value}: tfod-doctor read {records} records from it, but the OD API "
        "reads uncompressed files only"
    )
    if error:
        message += f"; {error}"
    evidence = {
        "compression": kind.value, "records": records, "tensorflow": R.COMPRESSED.tf_message
    }
    if error:
        evidence["decompress_error"] = error
    return R.COMPRESSED.finding(message, Location(file=name, offset=0), **evidence)


def empty_file_findings(empty: list[tuple[str, FileKind]], records: dict[str, int]
                        ) -> list[Finding]:
    """R007 for the empty files: one finding per shard set with two or more empty shards (for a
    set whose other shards hold records, information: a writer that deals a few records out
    round-robin over many shards leaves the rest empty), one per other file.

    ``records``: how many records every file read holds, by name.
    """
    sets: dict[str, list[tuple[str, FileKind]]] = {}
    for name, kind in sorted(empty):
        found = shard_set(name)
        sets.setdefault(found[0] if found else name, []).append((name, kind))
    findings = []
    for pattern, files in sets.items():
        if len(files) == 1:
            findings.append(empty_file_finding(*files[0]))
            continue
        findings.append(_empty_shards(pattern, [name for name, _ in files], records))
    return findings


def _empty_shards(pattern: str, names: list[str], records: dict[str, int]) -> Finding:
    count = shard_set(names[0])[1]  # type: ignore[index]
    held = {name: n for name, n in records.items() if n and (shard_set(name) or ("",))[0]
            == pattern}
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    message = f"{len(names)} of the {count} shards of {pattern} are empty ({shown})"
    severity = hint = None
    if held:
        hint = ("nothing to do; to have fewer files, write fewer shards (or `tfod-doctor fix "
                "--num-shards N`)")
        message += (f"; the other {len(held)} shard(s) hold its {sum(held.values())} records: "
                    "a writer that deals few records out over many shards (the OD API's COCO "
                    "tool writes 100) leaves the rest empty, and readers skip them")
        severity = Severity.INFO
    else:
        message += ": they hold no records"
    return R.EMPTY_FILE.finding(message, Location(file=names[0]), hint=hint, severity=severity,
                                files=names, shards=count, empty=len(names))


def reader_without_records(label: str, where: Location, files: list[str], train: bool,
                           source_line: str | None = None) -> Finding:
    """R025: every record file of an input reader is empty (``source_line``: the config line
    the reader starts at, quoted in the report)."""
    shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    effect = ("training waits on its first step forever, without a word" if train else
              "evaluation gets no batch and has nothing to measure")
    return R.READER_WITHOUT_RECORDS.finding(
        f"{label} reads {len(files)} file(s) and not one record: {shown} "
        f"{'is' if len(files) == 1 else 'are'} empty, so {effect}", where, reader=label,
        files=files, **({"source_line": source_line} if source_line else {}))


def empty_file_finding(name: str, kind: FileKind = FileKind.EMPTY) -> Finding:
    """The finding for a record file with no bytes (or a compressed file of no bytes)."""
    what = "is empty" if kind is FileKind.EMPTY else f"is a {kind.value} of nothing"
    return R.EMPTY_FILE.finding(f"{name} {what}: it holds no records", Location(file=name))


def not_an_example_finding(
    name: str, index: int, offset: int, error: str, payload: bytes | None = None
) -> Finding:
    """The finding for a record whose CRCs verify but whose payload is no tf.train.Example.

    With the ``payload``, the message says what the bytes look like instead (a JPEG image...).
    """
    message = f"record {index} is not a serialized tf.train.Example ({error})"
    evidence: dict = {"tensorflow": R.NOT_AN_EXAMPLE.tf_message}
    if payload is not None:
        kind = sniff_file(payload[:SNIFF_BYTES])
        message = (f"record {index} is not a serialized tf.train.Example: its {len(payload):,} "
                   f"bytes look like {kind.value}")
        evidence.update(detected=kind.value, payload_bytes=len(payload), error=error)
    return R.NOT_AN_EXAMPLE.finding(
        message, Location(file=name, record=index, offset=offset), **evidence
    )
