"""The baseline file: the findings a team has accepted, by fingerprint.

``tfod-doctor check --baseline FILE`` writes FILE when it does not exist (every finding of the
run), and leaves out the findings it lists when it does. It is JSON, sorted, one entry a line,
so that a change to it reads well in a review.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tfod_doctor.errors import UserError

FORMAT = "tfod-doctor-baseline"
VERSION = 1
#: A baseline larger than this is not one (a data file named by mistake).
MAX_BYTES = 256 << 20


class BaselineError(UserError):
    """The baseline file cannot be used."""


def read_baseline(path: Path) -> frozenset[str]:
    """The fingerprints a baseline file accepts."""
    if not path.is_file():
        raise BaselineError(f"{path}: the baseline is not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise BaselineError(f"{path}: larger than {MAX_BYTES >> 20} MiB; not a baseline file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"{path}: not a tfod-doctor baseline file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BaselineError(f"{path}: not a tfod-doctor baseline file (no \"format\": "
                            f"\"{FORMAT}\"); delete it to write a new one")
    if data.get("version") != VERSION:
        raise BaselineError(f"{path}: baseline version {data.get('version')!r} is not "
                            f"{VERSION}; write it anew")
    findings = data.get("findings")
    if not isinstance(findings, dict):
        raise BaselineError(f"{path}: \"findings\" must be an object of fingerprints")
    return frozenset(findings)


def write_baseline(path: Path, fingerprints: dict[str, dict[str, Any]]) -> int:
    """Write a baseline with these fingerprints (whole, or not at all); returns their count."""
    body = {"format": FORMAT, "version": VERSION,
            "findings": dict(sorted(fingerprints.items()))}
    text = json.dumps(body, indent=1, ensure_ascii=False) + "\n"
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise BaselineError(f"cannot write the baseline {path}: {exc.strerror or exc}") from None
    return len(fingerprints)
