"""R rules: turn what the records layer met (damage, odd files, bad inputs) into findings."""

from __future__ import annotations

from tfod_doctor.catalogue import records as R
from tfod_doctor.findings import Finding, Location
from tfod_doctor.records import Damage, DamageKind, FileKind, InputProblem, ProblemKind

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


def damage_finding(damage: Damage, recovered_after: int | None = None) -> Finding:
    """The finding for a damaged stretch of a file, with TensorFlow's message as evidence."""
    rule = _DAMAGE_RULES[damage.kind]
    message = (
        f"{_DAMAGE_TITLES[damage.kind]} at byte {damage.offset} "
        f"(record {damage.record}): {damage.detail}; bytes {damage.offset}-{damage.end} "
        f"({damage.lost_bytes} bytes) are lost"
    )
    evidence: dict = {
        "record_start": damage.offset,
        "lost_range": [damage.offset, damage.end],
        "lost_bytes": damage.lost_bytes,
    }
    if damage.tf_message:
        evidence["tensorflow"] = damage.tf_message
    if recovered_after is not None:
        evidence["records_recovered_after"] = recovered_after
    return rule.finding(
        message,
        Location(file=damage.file, record=damage.record, offset=damage.tf_offset),
        **evidence,
    )


def input_problem_finding(problem: InputProblem) -> Finding:
    """The finding for an input that yields no files (or not all of them)."""
    rule = _PROBLEM_RULES[problem.kind]
    return rule.finding(problem.message, Location(file=problem.input), **problem.evidence)


def not_a_tfrecord_finding(name: str, kind: FileKind) -> Finding:
    """The finding for a file that holds no TFRecord framing at all, saying what it is instead."""
    return R.NOT_A_TFRECORD.finding(
        f"{name} is not a TFRecord file: it looks like a {kind.value}",
        Location(file=name, offset=0),
        detected=kind.value,
        tensorflow=R.NOT_A_TFRECORD.tf_message,
    )


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


def empty_file_finding(name: str) -> Finding:
    """The finding for a record file with no bytes."""
    return R.EMPTY_FILE.finding(f"{name} is empty: it holds no records", Location(file=name))


def not_an_example_finding(name: str, index: int, offset: int, error: str) -> Finding:
    """The finding for a record whose CRCs verify but whose payload is no tf.train.Example."""
    return R.NOT_AN_EXAMPLE.finding(
        f"record {index} is not a serialized tf.train.Example ({error})",
        Location(file=name, record=index, offset=offset),
        tensorflow=R.NOT_AN_EXAMPLE.tf_message,
    )
