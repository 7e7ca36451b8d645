"""Finding the record files: paths, directories, globs, shard sets, and fsspec URLs.

Globs follow ``tf.io.gfile.glob`` (POSIX ``fnmatch`` on each path component): ``*`` and ``?``
never cross a ``/`` but do match a leading dot (``data/*`` matches ``data/.DS_Store``, as it does
for TensorFlow), ``[...]`` and ``[!...]``/``[^...]`` are character classes, a backslash escapes
the next character, and results are sorted. A pattern that matches nothing is reported, and so is
a directory a pattern matches (TensorFlow cannot read it). A directory named as an input stands
for the TFRecord files below it. URLs such as ``gs://``, ``s3://`` or ``memory://`` go through
fsspec when its backend (gcsfs, s3fs) is installed.
"""

from __future__ import annotations

import glob as globlib
import os
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

from tfod_doctor.records.inputs import not_regular
from tfod_doctor.records.sniff import SNIFF_BYTES, FileKind, sniff_file

#: On Windows a backslash separates folders (and TensorFlow knows no escapes there).
_GLOB_CHARS = re.compile(r"[*?\[\\]" if os.sep == "/" else r"[*?\[]")
_SHARD = re.compile(r"^(?P<prefix>.*?)(?P<index>\d+)-of-(?P<count>\d+)(?P<suffix>[^/]*)$")
_RECORD_NAME = re.compile(r"\.(tfrecords?|records?|tfrec)(\.gz|\.gzip|\.zz|\.zlib)?$|-of-\d+", re.I)
#: A folder given as input is walked through at most this many files and folders...
MAX_WALK_ENTRIES = 100_000
#: ...or as many as this environment variable says.
WALK_VARIABLE = "TFOD_DOCTOR_MAX_WALK"
#: A progress line on standard error every this many entries of a folder walk.
WALK_NOTE_EVERY = 10_000
#: How many missing shards a problem names in its evidence (it counts them all).
_NAMED_MISSING = 1000
#: Up to this many shards not read, each is looked for on disk (more: the count is not real).
_CHECKED_SHARDS = 100_000
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
    """One record file: its name as the user sees it, where it is, and its size in bytes.

    ``found_by`` says how it was found: ``"path"`` (named as is), ``"glob"`` or ``"directory"``.
    """

    name: str
    path: str
    size: int
    protocol: str = "file"
    found_by: str = "path"

    @classmethod
    def local(cls, path: str | Path, name: str | None = None) -> Source:
        """A local file named directly; ``OSError`` if it cannot be stat'ed."""
        text = os.fspath(path)
        return cls(name=name or text, path=text, size=os.stat(text).st_size)

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
    #: Files named (or matched) more than once, as named again; each is read once.
    repeated: list[str] = field(default_factory=list)

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
    """Whether ``text`` holds glob characters (``*``, ``?``, ``[``, or a ``\\`` escape)."""
    return _GLOB_CHARS.search(text) is not None


def looks_like_record_name(name: str) -> bool:
    """Whether a file name is one people give TFRecord files (``.tfrecord``, ``-of-000NN``...)."""
    return _RECORD_NAME.search(name) is not None


# -- glob matching as tf.io.gfile.glob does it ---------------------------------------------------


@lru_cache(maxsize=256)
def _component_regex(component: str) -> re.Pattern[str]:
    """A regex for one path component of a glob, with ``fnmatch(FNM_PATHNAME)`` semantics."""
    out, i, n = [], 0, len(component)
    while i < n:
        char = component[i]
        i += 1
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "\\":
            out.append(re.escape(component[i]) if i < n else re.escape("\\"))
            i += 1
        elif char == "[":
            parsed = _bracket(component, i)
            if parsed is None:
                out.append(re.escape("["))
            else:
                regex, i = parsed
                out.append(regex)
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def _bracket(text: str, start: int) -> tuple[str, int] | None:
    """The regex of the character class starting after ``[`` at ``start``, and where it ends."""
    i, negate = start, False
    if i < len(text) and text[i] in "!^":
        negate, i = True, i + 1
    items: list[str] = []
    first = True
    while i < len(text):
        char = text[i]
        if char == "]" and not first:
            body = "".join(items)
            return f"[{'^' if negate else ''}{body}]", i + 1
        if char == "\\" and i + 1 < len(text):
            items.append(re.escape(text[i + 1]))
            i += 2
        elif char == "-" and not first and i + 1 < len(text) and text[i + 1] != "]":
            items.append("-")
            i += 1
        else:
            items.append(re.escape(char))
            i += 1
        first = False
    return None  # no closing bracket: the "[" is literal


def _unescape(component: str) -> str:
    return re.sub(r"\\(.)", r"\1", component)


def match_glob(
    pattern: str, children: Callable[[str], list[str]], exists: Callable[[str], bool]
) -> list[str]:
    """Every path that matches ``pattern``, sorted, as ``tf.io.gfile.glob`` finds them.

    ``children(dir)`` lists the names in a directory (``[]`` if it cannot), ``exists(path)``
    says whether a path exists; so the same matching serves local disks and fsspec stores.
    :class:`WalkBoundReached` when the pattern lists more names than a folder walk may.
    """
    bound, listed = _walk_bound(), 0
    parts = pattern.split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not has_glob(parts[fixed]):
        fixed += 1
    base = "/".join(parts[:fixed])
    current = [base] if base or pattern.startswith("/") else [""]
    if pattern.startswith("/") and not base:
        current = ["/"]
    for component in parts[fixed:]:
        following: list[str] = []
        for folder in current:
            if has_glob(component):
                regex = _component_regex(component)
                listing = children(folder or ".")
                listed += len(listing)
                if listed > bound:
                    raise WalkBoundReached(pattern, bound, pattern=True)
                names = [name for name in listing if regex.fullmatch(name)]
            else:
                names = [_unescape(component)]
            for name in names:
                path = name if not folder else folder.rstrip("/") + "/" + name
                if exists(path):
                    following.append(path)
        current = following
    return sorted(set(current))


def _local_children(folder: str) -> list[str]:
    try:
        return os.listdir(folder)
    except OSError:
        return []


def local_glob(pattern: str) -> list[str]:
    """``tf.io.gfile.glob`` on the local file system."""
    if os.sep != "/":  # Windows: drive letters and backslashes; Python's glob knows them
        if sys.version_info >= (3, 11):
            return sorted(globlib.glob(pattern, include_hidden=True))
        return sorted(globlib.glob(pattern))
    return match_glob(pattern, _local_children, os.path.lexists)


# -- discovery -----------------------------------------------------------------------------------


def discover(inputs: Sequence[str], relative_to: str | Path | None = None) -> Inputs:
    """Expand paths, directories, globs and URLs into record files, in order, without repeats.

    Relative local paths are taken relative to ``relative_to`` (default: the working directory),
    and reported as the user wrote them. Problems (a path that does not exist, a pattern that
    matches nothing, an unreadable file, missing shards...) are collected, never raised.
    """
    found = Inputs()
    seen: set[str] = set()
    for text in inputs:
        for source in _expand(text, relative_to, found.problems):
            key = os.path.realpath(source.path) if source.protocol == "file" else source.path
            if key not in seen:
                seen.add(key)
                found.sources.append(source)
            else:
                found.repeated.append(source.name)
    unreadable = [p.input for p in found.problems if p.kind is ProblemKind.UNREADABLE]
    found.problems.extend(missing_shards(found.sources, unreadable))
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
        return _expand_local_glob(text, path, problems)
    if os.path.isdir(path):
        return _expand_directory(path, shown, problems)
    if not os.path.lexists(path):
        problems.append(InputProblem(
            ProblemKind.NOT_FOUND, text, f"{shown} does not exist", {"resolved": path}
        ))
        return []
    source = _local_source(path, shown, problems)
    return [source] if source else []


def _expand_local_glob(text: str, pattern: str, problems: list[InputProblem]) -> list[Source]:
    try:
        matches = local_glob(pattern)
    except WalkBoundReached as exc:
        problems.append(InputProblem(ProblemKind.NO_RECORD_FILES, text, str(exc),
                                     {"bound": exc.bound}))
        return []
    if not matches:
        problems.append(InputProblem(
            ProblemKind.GLOB_MATCHES_NOTHING, text, f"the pattern {text!r} matches no file",
            {"resolved": pattern},
        ))
    sources = []
    for match in matches:
        if os.path.isdir(match):
            problems.append(InputProblem(
                ProblemKind.UNREADABLE, match,
                f"the pattern {text!r} matches the directory {match}, which TensorFlow cannot "
                "read as records (`Is a directory`); narrow the pattern to the record files",
                {"pattern": text},
            ))
            continue
        source = _local_source(match, match, problems, "glob")
        if source:
            sources.append(source)
    return sources


def _local_source(
    path: str, shown: str, problems: list[InputProblem] | None, found_by: str = "path"
) -> Source | None:
    """A source for a local file, or ``None`` (with a problem added) if it cannot be read."""
    try:
        info = os.stat(path)
        what = not_regular(info.st_mode)
        if what is None:
            with open(path, "rb"):
                pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if not os.path.exists(path) and os.path.lexists(path):
            reason = "it is a broken symbolic link"
        if problems is not None:
            problems.append(InputProblem(
                ProblemKind.UNREADABLE, shown, f"{shown} cannot be read: {reason}"
            ))
        return None
    if what is not None:
        if problems is not None:
            problems.append(InputProblem(
                ProblemKind.UNREADABLE, shown,
                f"{shown} cannot be read as records: it is {what}, not a regular file",
            ))
        return None
    return Source(name=shown, path=path, size=info.st_size, found_by=found_by)


def _walk_bound() -> int:
    """How many entries a folder given as input is walked through at most."""
    try:
        return max(1, int(os.environ.get(WALK_VARIABLE, "") or MAX_WALK_ENTRIES))
    except ValueError:
        return MAX_WALK_ENTRIES


def _inside(path: str, folder: str) -> bool:
    """Whether ``path``, with its links resolved, is in ``folder`` (resolved)."""
    try:
        real = os.path.realpath(path)
    except OSError:  # a link that cannot be resolved leads nowhere we may go
        return False
    return real == folder or real.startswith(folder.rstrip(os.sep) + os.sep)


def _walk_note(shown: str, entries: int) -> None:
    print(f"tfod-doctor: looking through {shown}: {entries:,} entries so far "
          f"(stops at {_walk_bound():,}; {WALK_VARIABLE} sets that)", file=sys.stderr,
          flush=True)


class WalkBoundReached(Exception):
    """A folder (or a pattern) given as input holds more entries than a walk goes through."""

    def __init__(self, shown: str, bound: int, pattern: bool = False) -> None:
        where = f"the pattern {shown!r} goes through" if pattern else f"the directory {shown} holds"
        super().__init__(f"{where} more than {bound:,} files and folders: stopped looking there "
                         f"(name the files or a narrower pattern, or set {WALK_VARIABLE} to walk "
                         "further)")
        self.bound = bound


def walk_files(path: str | Path, shown: str | None = None,
               unlistable: Callable[[OSError], None] | None = None
               ) -> Iterator[tuple[str, list[str]]]:
    """``(folder, its file names)`` below ``path``, top-down and sorted as ``os.walk`` gives
    them (hidden names and links to folders left out), counting every entry as it is listed:
    :class:`WalkBoundReached` past :func:`_walk_bound` entries, a progress line on standard
    error every ``WALK_NOTE_EVERY``. A folder that cannot be listed goes to ``unlistable``
    (default: skipped)."""
    path = os.fspath(path)
    shown = path if shown is None else shown
    bound = _walk_bound()
    pending, entries = [path], 0
    while pending:
        folder = pending.pop()
        dirs: list[str] = []
        files: list[str] = []
        try:
            with os.scandir(folder) as listing:
                for entry in listing:
                    entries += 1
                    if entries > bound:
                        raise WalkBoundReached(shown, bound)
                    if entries % WALK_NOTE_EVERY == 0:
                        _walk_note(shown, entries)
                    if entry.name.startswith("."):
                        continue
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    if not is_dir:
                        files.append(entry.name)
                    elif not entry.is_symlink():  # links to folders are not followed
                        dirs.append(entry.name)
        except OSError as exc:
            if unlistable is not None:
                unlistable(exc)
            continue
        yield folder, sorted(files)
        pending.extend(os.path.join(folder, name) for name in sorted(dirs, reverse=True))


def _expand_directory(path: str, shown: str, problems: list[InputProblem]) -> list[Source]:
    """The record files below a folder: walked without leaving it (symbolic links that lead
    out are not followed) and through at most :func:`_walk_bound` entries, with a progress
    line on standard error every ``WALK_NOTE_EVERY``."""
    sources: list[Source] = []
    known_problems = len(problems)
    real_folder = os.path.realpath(path)
    links_out = 0

    def unlistable(exc: OSError) -> None:
        where = exc.filename or path
        shown_where = os.path.join(shown, os.path.relpath(where, path))
        problems.append(InputProblem(
            ProblemKind.UNREADABLE, shown_where,
            f"the directory {shown_where} cannot be listed: {exc.strerror or exc}",
        ))

    try:
        for root, files in walk_files(path, shown, unlistable):
            for name in files:
                full = os.path.join(root, name)
                if os.path.islink(full) and not _inside(full, real_folder):
                    links_out += 1
                    continue
                source = _directory_source(full, os.path.join(shown, os.path.relpath(full, path)),
                                           problems)
                if source:
                    sources.append(source)
    except WalkBoundReached as exc:
        problems.append(InputProblem(ProblemKind.NO_RECORD_FILES, shown, str(exc),
                                     {"bound": exc.bound}))
    if not sources and len(problems) == known_problems:
        note = (f" ({links_out} symbolic link(s) that lead out of it were not followed)"
                if links_out else "")
        problems.append(InputProblem(
            ProblemKind.NO_RECORD_FILES, shown,
            f"the directory {shown} holds no TFRecord files{note}",
        ))
    return sources


def _directory_source(full: str, shown: str, problems: list[InputProblem]) -> Source | None:
    """A file found in a folder, if it is a record file: by its name (then a problem if it
    cannot be read), else by its first bytes (other files are quietly skipped)."""
    if looks_like_record_name(os.path.basename(full)):
        return _local_source(full, shown, problems, "directory")
    source = _local_source(full, shown, None, "directory")
    return source if source and source.size and _sniffs_as_records(source) else None


def _sniffs_as_records(source: Source) -> bool:
    try:
        return sniff_file(source.head()) in _READABLE_KINDS
    except OSError:
        return False


# -- fsspec URLs ---------------------------------------------------------------------------------


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
    except Exception as exc:  # fsspec backends raise many kinds of errors
        problems.append(InputProblem(ProblemKind.UNREADABLE, url, f"cannot read {url}: {exc}"))
        return []
    protocol = url.split("://", 1)[0]
    try:
        return _url_sources(fs, url, path, protocol, problems)
    except Exception as exc:  # network, credentials, permissions: one message, go on
        problems.append(InputProblem(ProblemKind.UNREADABLE, url, f"cannot read {url}: {exc}"))
        return []


def _url_sources(
    fs: Any, url: str, path: str, protocol: str, problems: list[InputProblem]
) -> list[Source]:
    if has_glob(path):

        def children(folder: str) -> list[str]:
            try:
                return [p.rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(folder, detail=False)]
            except (OSError, ValueError):
                return []

        paths = match_glob(path, children, fs.exists)
        if not paths:
            problems.append(InputProblem(
                ProblemKind.GLOB_MATCHES_NOTHING, url, f"the pattern {url!r} matches no file"
            ))
        found_by = "glob"
    elif fs.isdir(path):
        paths = sorted(p for p in fs.find(path) if looks_like_record_name(p.rsplit("/", 1)[-1]))
        if not paths:
            problems.append(InputProblem(
                ProblemKind.NO_RECORD_FILES, url, f"the directory {url} holds no TFRecord files"
            ))
        found_by = "directory"
    elif fs.exists(path):
        return [Source(name=url, path=url, size=int(fs.size(path)), protocol=protocol)]
    else:
        problems.append(InputProblem(ProblemKind.NOT_FOUND, url, f"{url} does not exist"))
        return []
    sources = []
    for p in paths:
        name = _unstrip(fs, p, protocol)
        if fs.isdir(p):
            problems.append(InputProblem(
                ProblemKind.UNREADABLE, name,
                f"the pattern {url!r} matches the directory {name}, which TensorFlow cannot "
                "read as records", {"pattern": url},
            ))
            continue
        sources.append(Source(name=name, path=name, size=int(fs.size(p)), protocol=protocol,
                              found_by=found_by))
    return sources


def _unstrip(fs: Any, path: str, protocol: str) -> str:
    unstrip = getattr(fs, "unstrip_protocol", None)
    if unstrip is not None:
        return unstrip(path)
    return f"{protocol}://{path}"


# -- shard sets ----------------------------------------------------------------------------------


def shard_set(name: str) -> tuple[str, int] | None:
    """The shard set a file belongs to (``PREFIX*-of-N SUFFIX``, and N), or ``None``."""
    match = _SHARD.match(name)
    if match is None or int(match["count"]) <= 0:
        return None
    return f"{match['prefix']}*-of-{match['count']}{match['suffix']}", int(match["count"])


def missing_shards(sources: Sequence[Source], unreadable: Sequence[str] = ()
                   ) -> list[InputProblem]:
    """Shard sets (``NAME-0000k-of-0000N``) among ``sources`` that lack some of their shards.

    A set is checked when a glob or a directory found some of it, or two or more of its shards
    were named: one shard named on its own is taken as meant to be read alone. A shard is missing
    only when its file does not exist: a pattern may name some shards of a set on purpose (shard
    0 for eval, the rest for train). The files named in ``unreadable`` are there (they are
    reported as unreadable), so they are not missing.
    """
    found = [(source.name, source.path, source.found_by) for source in sources]
    sets: dict[tuple[str, str, str, int], list[tuple[int, str, str]]] = defaultdict(list)
    for name, path, found_by in [*found, *((name, name, "path") for name in unreadable)]:
        match = _SHARD.match(name)
        if match and int(match["count"]) > 0:
            key = (match["prefix"], match["suffix"], match["count"], len(match["index"]))
            sets[key].append((int(match["index"]), path, found_by))
    problems = []
    for (prefix, suffix, count_text, width), members in sorted(sets.items()):
        if len(members) < 2 and all(found_by == "path" for *_, found_by in members):
            continue
        present = {index for index, *_ in members}
        count = int(count_text)
        shard_path = _shard_path(members[0][1], width)
        not_read = count - len({index for index in present if index < count})
        if not_read <= _CHECKED_SHARDS:
            # A shard not read is missing only when its file is not there (another reader may
            # read it: a pattern that names shard 0 for eval).
            gone = [i for i in range(count) if i not in present and not _exists(shard_path(i))]
            absent, first = len(gone), gone[:_NAMED_MISSING]
        else:
            # A count no real set has (`-of-99999999999999999999`): the work grows with the
            # shards found, not with the count a name claims; only the first are named.
            absent = not_read
            first = list(islice((i for i in range(count) if i not in present), _NAMED_MISSING))
        if absent > 0:
            names = [f"{prefix}{i:0{width}d}-of-{count_text}{suffix}" for i in first]
            more = absent - min(5, len(names))
            shown = ", ".join(names[:5]) + (f" and {more} more" if more else "")
            problems.append(InputProblem(
                ProblemKind.MISSING_SHARDS, f"{prefix}*-of-{count_text}{suffix}",
                f"{absent} of {count} shards are missing: {shown}",
                {"missing": names, "missing_count": absent, "present": count - absent,
                 "read": len(present),
                 "expected": count},
            ))
    return problems


def _shard_path(member: str, width: int) -> Callable[[int], str]:
    """Where shard ``i`` of the set of the file at ``member`` is."""
    match = _SHARD.match(member)
    if match is None:  # a path that names the shard differently from its name: assume there
        return lambda index: member
    return lambda index: (f"{match['prefix']}{index:0{width}d}-of-{match['count']}"
                          f"{match['suffix']}")


def _exists(path: str) -> bool:
    """Whether a file is at ``path`` (a local path or a URL); ``False`` when that cannot be told."""
    if not is_url(path):
        return os.path.lexists(path)
    try:
        import fsspec

        fs, inner = fsspec.core.url_to_fs(path)
        return bool(fs.exists(inner))
    except Exception:  # no file system for it, no access: count it as missing
        return False
