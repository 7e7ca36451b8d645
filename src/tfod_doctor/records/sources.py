"""Finding the record files: paths, directories, globs, shard sets, and fsspec URLs.

Globs follow ``tf.io.gfile.glob``: ``*``, ``?`` and ``[...]`` within one path component, results
sorted, a pattern that matches nothing dropped (here: reported). A directory stands for the
TFRecord files below it. URLs such as ``gs://`` or ``s3://`` go through fsspec when its backend
(gcsfs, s3fs) is installed.
"""

from __future__ import annotations

import glob as globlib
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

from tfod_doctor.records.sniff import SNIFF_BYTES, FileKind, sniff_file

_GLOB_CHARS = re.compile(r"[*?\[]")
_SHARD = re.compile(r"^(?P<prefix>.*?)(?P<index>\d+)-of-(?P<count>\d+)(?P<suffix>[^/]*)$")
_RECORD_NAME = re.compile(r"\.(tfrecords?|records?|tfrec)(\.gz|\.gzip|\.zz|\.zlib)?$|-of-\d+", re.I)
_READABLE_KINDS = (FileKind.TFRECORD, FileKind.TFRECORD_GZIP, FileKind.TFRECORD_ZLIB)


class ProblemKind(str, Enum):
    """What can be wrong with an input before any record is read."""

    NOT_FOUND = "not-found"
    GLOB_MATCHES_NOTHING = "glob-matches-nothing"
    NO_RECORD_FILES = "no-record-files"
    UNREADABLE = "unreadable"
    MISSING_SHARDS = "missing-shards"


@dataclass(frozen=True)
class InputProblem:
    """An input that yields no (or not all) files, and why."""

    kind: ProblemKind
    input: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One record file: its name as the user sees it, where it is, and its size in bytes."""

    name: str
    path: str
    size: int
    protocol: str = "file"

    def open(self) -> BinaryIO:
        """A seekable binary file object; the caller closes it."""
        if self.protocol == "file":
            return open(self.path, "rb")
        import fsspec

        return fsspec.open(self.path, "rb").open()

    def head(self, n: int = SNIFF_BYTES) -> bytes:
        """The first ``n`` bytes (fewer if the file is shorter)."""
        with self.open() as handle:
            return handle.read(n)


@dataclass
class Inputs:
    """The outcome of :func:`discover`: the files found, and the problems met on the way."""

    sources: list[Source] = field(default_factory=list)
    problems: list[InputProblem] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        """The size of every file found, added up."""
        return sum(source.size for source in self.sources)


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL with a protocol (``gs://...``), not a local path."""
    return re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text) is not None and not text.startswith(
        "file://"
    )


def has_glob(text: str) -> bool:
    """Whether ``text`` holds glob characters."""
    return _GLOB_CHARS.search(text) is not None


def looks_like_record_name(name: str) -> bool:
    """Whether a file name is one people give TFRecord files (``.tfrecord``, ``-of-000NN``...)."""
    return _RECORD_NAME.search(name) is not None


def discover(inputs: Sequence[str], relative_to: str | Path | None = None) -> Inputs:
    """Expand paths, directories, globs and URLs into record files, in order, without repeats.

    Relative local paths are taken relative to ``relative_to`` (default: the working directory),
    and reported as the user wrote them.
    """
    found = Inputs()
    seen: set[str] = set()
    for text in inputs:
        for source in _expand(text, relative_to, found.problems):
            if source.path not in seen:
                seen.add(source.path)
                found.sources.append(source)
    found.problems.extend(missing_shards(found.sources))
    return found


def _expand(
    text: str, relative_to: str | Path | None, problems: list[InputProblem]
) -> list[Source]:
    if is_url(text):
        return _expand_url(text, problems)
    local = text[len("file://") :] if text.startswith("file://") else text
    base = Path(relative_to) if relative_to is not None else None
    path = local if base is None or os.path.isabs(local) else str(base / local)
    shown = text if base is None else path
    if has_glob(local):
        matches = sorted(globlib.glob(path))
        if not matches:
            problems.append(InputProblem(
                ProblemKind.GLOB_MATCHES_NOTHING, text, f"the pattern {text!r} matches no file",
                {"resolved": path},
            ))
        files = [m for m in matches if os.path.isfile(m)]
        return [s for s in (_local_source(m, m, problems) for m in files) if s]
    if os.path.isdir(path):
        return _expand_directory(path, shown, problems)
    if not os.path.exists(path):
        problems.append(InputProblem(
            ProblemKind.NOT_FOUND, text, f"{shown} does not exist", {"resolved": path}
        ))
        return []
    source = _local_source(path, shown, problems)
    return [source] if source else []


def _local_source(path: str, shown: str, problems: list[InputProblem]) -> Source | None:
    try:
        size = os.stat(path).st_size
        with open(path, "rb"):
            pass
    except OSError as exc:
        problems.append(InputProblem(
            ProblemKind.UNREADABLE, shown, f"{shown} cannot be read: {exc.strerror or exc}"
        ))
        return None
    return Source(name=shown, path=path, size=size)


def _expand_directory(path: str, shown: str, problems: list[InputProblem]) -> list[Source]:
    sources: list[Source] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            full = os.path.join(root, name)
            shown_full = os.path.join(shown, os.path.relpath(full, path))
            source = _local_source(full, shown_full, problems)
            if source and (looks_like_record_name(name) or _sniffs_as_records(source)):
                sources.append(source)
    if not sources:
        problems.append(InputProblem(
            ProblemKind.NO_RECORD_FILES, shown, f"the directory {shown} holds no TFRecord files"
        ))
    return sources


def _sniffs_as_records(source: Source) -> bool:
    try:
        return sniff_file(source.head()) in _READABLE_KINDS
    except OSError:
        return False


def _expand_url(url: str, problems: list[InputProblem]) -> list[Source]:
    try:
        import fsspec

        fs, path = fsspec.core.url_to_fs(url)
    except ImportError as exc:
        problems.append(InputProblem(
            ProblemKind.UNREADABLE, url,
            f"cannot read {url}: {exc}. Install the file system for it "
            "(pip install 'tfod-doctor[gcs]' or 'tfod-doctor[s3]')",
        ))
        return []
    except (ValueError, OSError) as exc:
        problems.append(InputProblem(ProblemKind.UNREADABLE, url, f"cannot read {url}: {exc}"))
        return []
    protocol = url.split("://", 1)[0]
    try:
        if has_glob(path):
            paths = sorted(fs.glob(path))
            if not paths:
                problems.append(InputProblem(
                    ProblemKind.GLOB_MATCHES_NOTHING, url, f"the pattern {url!r} matches no file"
                ))
        elif fs.isdir(path):
            paths = sorted(p for p in fs.find(path) if looks_like_record_name(p.rsplit("/", 1)[-1]))
            if not paths:
                problems.append(InputProblem(
                    ProblemKind.NO_RECORD_FILES, url, f"the directory {url} holds no TFRecord files"
                ))
        elif fs.exists(path):
            paths = [path]
        else:
            problems.append(InputProblem(ProblemKind.NOT_FOUND, url, f"{url} does not exist"))
            return []
        return [
            Source(name=_unstrip(fs, p, protocol), path=_unstrip(fs, p, protocol),
                   size=int(fs.size(p)), protocol=protocol)
            for p in paths
        ]
    except OSError as exc:
        problems.append(InputProblem(ProblemKind.UNREADABLE, url, f"cannot read {url}: {exc}"))
        return []


def _unstrip(fs: Any, path: str, protocol: str) -> str:
    unstrip = getattr(fs, "unstrip_protocol", None)
    if unstrip is not None:
        return unstrip(path)
    return f"{protocol}://{path}"


def missing_shards(sources: Sequence[Source]) -> list[InputProblem]:
    """Shard sets (``NAME-0000k-of-0000N``) among ``sources`` that lack some of their shards."""
    sets: dict[tuple[str, str, str, int], set[int]] = defaultdict(set)
    for source in sources:
        match = _SHARD.match(source.name)
        if match and int(match["count"]) > 0:
            key = (match["prefix"], match["suffix"], match["count"], len(match["index"]))
            sets[key].add(int(match["index"]))
    problems = []
    for (prefix, suffix, count_text, width), present in sorted(sets.items()):
        count = int(count_text)
        absent = sorted(set(range(count)) - present)
        if absent:
            names = [f"{prefix}{i:0{width}d}-of-{count_text}{suffix}" for i in absent]
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            problems.append(InputProblem(
                ProblemKind.MISSING_SHARDS, f"{prefix}*-of-{count_text}{suffix}",
                f"{len(absent)} of {count} shards are missing: {shown}",
                {"missing": names, "present": len(present), "expected": count},
            ))
    return problems
