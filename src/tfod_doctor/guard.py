"""Where tfod-doctor may write: never over an input, never over a file it did not write.

Every command that writes goes through here. A folder of outputs (``fix``, ``convert``,
``export``, ``demo``) is held by :class:`OutputFolder` for the whole run:

- the folder may not be an input, hold one (at any depth), lie inside a folder that is read
  for inputs, or be reached by an input glob (the outputs would be read as inputs next time);
- it is locked: a second run into the same folder stops and says who holds it;
- files of the names the run writes that are already there are replaced only with
  ``overwrite``, and only when the list of an earlier run's outputs (:data:`LEDGER`) names them;
  the earlier outputs are moved aside and deleted only once the new ones are complete;
- when the run fails (a full disk, an error, Ctrl-C) everything it wrote is removed and the
  earlier outputs are put back: the folder is as it was. A run killed outright leaves its
  journal in the lock file, and the next run into the folder undoes it the same way.

One output file (a report ``-o``, a picture) goes through :func:`write_file`: it may not be an
input, an existing file is replaced only when tfod-doctor wrote it, and it is written whole or
not at all.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import json
import os
import shlex
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from tfod_doctor._version import __version__
from tfod_doctor.errors import UserError
from tfod_doctor.records.sniff import SNIFF_BYTES, FileKind, sniff_file
from tfod_doctor.records.sources import has_glob, is_url, match_glob

#: The list of the outputs a run wrote into its folder (what ``overwrite`` may replace).
LEDGER = ".tfod-doctor-outputs.json"
#: Held while a run writes into a folder.
LOCK = ".tfod-doctor.lock"
#: Temporary files every writer names ``.<something>.partial``; they are never outputs.
TEMPORARY = ".*.partial"
_PREVIOUS = ".tfod-doctor-previous-"
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EFBIG}
#: Kinds of file tfod-doctor writes as one output (reports and pictures).
_OWN_KINDS = {FileKind.JSON, FileKind.XML, FileKind.TEXT, FileKind.CSV, FileKind.PNG,
              FileKind.JPEG}
#: What every report and picture tfod-doctor writes holds in its first bytes.
SIGNATURE = b"tfod-doctor"


# -- the inputs of a run -------------------------------------------------------------------------


def _real(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.path.abspath(os.fspath(path)))


@dataclass(frozen=True)
class Protected:
    """The inputs of a run, which no output may be, hold or replace.

    ``files`` and ``folders`` are real paths (symbolic links resolved); ``walked`` are the
    folders read for inputs (an output inside one would be read as an input next time);
    ``patterns`` are the input globs, as given (relative to the working folder).
    """

    files: frozenset[str] = frozenset()
    folders: frozenset[str] = frozenset()
    walked: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    @classmethod
    def of(cls, paths: Iterable[str | os.PathLike[str] | None] = (), *,
           walked: bool = False) -> Protected:
        """The inputs named by ``paths`` (files, folders, globs; URLs and ``None`` skipped).

        ``walked``: the folders among them are read for their files (record folders).
        """
        files, folders, patterns = set(), set(), []
        for path in paths:
            if path is None:
                continue
            text = os.fspath(path)
            if not text or is_url(text):
                continue
            text = text.removeprefix("file://")
            if has_glob(text) and os.sep == "/":
                patterns.append(text)
            elif os.path.isdir(text):
                folders.add(_real(text))
            elif os.path.lexists(text):
                files.add(_real(text))
        return cls(frozenset(files), frozenset(folders),
                   frozenset(folders) if walked else frozenset(), tuple(patterns))

    def __or__(self, other: Protected) -> Protected:
        return Protected(self.files | other.files, self.folders | other.folders,
                         self.walked | other.walked, self.patterns + other.patterns)


#: A run without inputs (the demo).
NO_INPUTS = Protected()


def _inside(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or below it (both real paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _sample(pattern: str) -> str:
    """A name an output glob stands for (``train-*-of-*.tfrecord`` -> ``train-00000-...``)."""
    return pattern.replace("*", "00000").replace("?", "0")


def _reached_by(pattern: str, outputs: Sequence[str]) -> str | None:
    """The first of ``outputs`` (absolute paths) the input glob ``pattern`` would match once
    they exist, or ``None``."""
    future = {os.path.normpath(p) for p in outputs}
    parents = {os.path.dirname(p) for p in future}
    for path in list(future):
        while path not in ("", os.sep):
            path = os.path.dirname(path)
            parents.add(path)

    def children(folder: str) -> list[str]:
        folder = os.path.normpath(folder)
        names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
        names |= {os.path.basename(p) for p in future | parents
                  if os.path.dirname(p) == folder and p != folder}
        return list(names)

    def exists(path: str) -> bool:
        path = os.path.normpath(path)
        return path in future or path in parents or os.path.lexists(path)

    matched = {os.path.normpath(p) for p in match_glob(pattern, children, exists)}
    return next((p for p in outputs if os.path.normpath(p) in matched), None)


def check_folder(out: Path, protected: Protected, outputs: Sequence[str] = ()) -> None:
    """Refuse an output folder that is, holds or lies among the inputs (:class:`UserError`).

    ``outputs`` are the glob patterns of the names the run writes into ``out``.
    """
    if not os.fspath(out):
        raise UserError("--out is empty: name the folder to write to")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file, not a folder: name a folder for the outputs "
                        "(it is made if it does not exist)")
    real = _real(out)
    for path in sorted(protected.files | protected.folders):
        if _inside(path, real):
            what = "is the input" if path == real else "holds the input"
            shown = path if path == real else os.path.relpath(path, real)
            raise UserError(f"{out} {what} {shown}: write the outputs to a folder that holds no "
                            "input (inputs are never changed)")
    for folder in sorted(protected.walked):
        if _inside(real, folder):
            raise UserError(f"{out} is inside the input folder {folder}, which is read for "
                            "records: the outputs would be read as inputs next time; name a "
                            "folder outside it")
    future = [os.path.join(os.path.abspath(out), _sample(name)) for name in outputs]
    for pattern in protected.patterns:
        hit = _reached_by(os.path.abspath(pattern), [os.path.abspath(out), *future])
        if hit is not None:
            shown = os.path.relpath(hit) if not os.path.isabs(pattern) else hit
            raise UserError(f"the input pattern {pattern!r} would also match the output {shown}: "
                            "name a folder the pattern does not reach")


# -- one output file -----------------------------------------------------------------------------


def _written_by_us(path: Path) -> FileKind | None:
    """``None`` when ``path`` is a file tfod-doctor may replace (empty, or a report or picture
    it wrote); else what the file is."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError:
        return FileKind.UNKNOWN
    kind = sniff_file(head)
    if kind is FileKind.EMPTY or (kind in _OWN_KINDS and SIGNATURE in head):
        return None
    return kind


def is_stream(path: Path) -> bool:
    """Whether ``path`` is (or links to) a device, pipe or socket, such as ``/dev/null``."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def check_file(path: Path, protected: Protected, option: str = "-o") -> None:
    """Refuse ``path`` as an output file when it is an input, a folder, or a file tfod-doctor did
    not write (:class:`UserError`)."""
    if not os.fspath(path):
        raise UserError(f"{option} is empty: name the file to write")
    real = _real(path)
    if real in protected.files or real in protected.folders:
        raise UserError(f"{option} {path} is an input of this run: name another file for the "
                        "output (inputs are never changed)")
    if os.path.isdir(path):
        raise UserError(f"{option} {path} is a folder: name a file")
    if is_stream(path):
        return  # a device or pipe: written to, never replaced, never read
    if os.path.lexists(path):
        kind = _written_by_us(path)
        if kind is not None:
            raise UserError(f"{option} {path} exists and tfod-doctor did not write it "
                            f"({kind.phrase}): name another file, or move it away first")


def write_file(path: Path, write: Callable[[Path], None], protected: Protected = NO_INPUTS,
               option: str = "-o") -> None:
    """Write one output file through ``write(temporary_path)``, after :func:`check_file`.

    The file is written under a temporary name beside ``path`` and renamed into place: a
    symbolic link at ``path`` is replaced, never followed; a failure leaves ``path`` as it was.
    """
    check_file(path, protected, option)
    folder = path.parent
    if is_stream(path):  # /dev/null, /dev/stdout, a named pipe: replacing one would destroy it
        try:
            write(path)
        except OSError as exc:
            raise write_error(exc, path, folder) from None
        return
    temporary = folder / f".{path.name}.{os.getpid()}.partial{path.suffix}"
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError):
            raise write_error(exc, path, folder) from None
        raise


# -- writing errors ------------------------------------------------------------------------------


def _free(folder: Path) -> str:
    for place in (folder, *folder.absolute().parents):
        try:
            free = shutil.disk_usage(place).free
        except OSError:
            continue
        return f"{free:,} bytes free"
    return "no space left"


def write_error(exc: OSError, where: str | os.PathLike[str], folder: Path,
                free: str | None = None) -> UserError:
    """A clear error for an ``OSError`` met while writing ``where`` in ``folder``; ``free``
    says how much space was left (measured before the partial files were removed)."""
    if exc.errno in _FULL:
        return UserError(f"the disk is full: no space left to write {where} "
                         f"({free or _free(folder)} on its disk); nothing was written (the "
                         "partial files were removed). Free some space or write to another "
                         "disk.")
    return UserError(f"cannot write {where}: {exc.strerror or exc}; nothing was written (the "
                     "partial files were removed)")


def _is_write_error(exc: BaseException, out: Path) -> bool:
    if not isinstance(exc, OSError):
        return False
    if exc.errno in _FULL:
        return True
    return exc.filename is not None and _inside(_real(exc.filename), _real(out))


# -- the lock ------------------------------------------------------------------------------------


def _read_all(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def _journal_in(data: bytes) -> dict[str, object] | None:
    """The journal in a lock file's bytes, when they hold one."""
    try:
        journal = json.loads(data.decode("utf-8")).get("journal")
    except (ValueError, AttributeError):
        return None
    return journal if isinstance(journal, dict) else None


def _holder_text(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(holder["started"]))
        return (f"`{holder['command']}`, process {holder['pid']} on {holder['host']}, "
                f"since {since}")
    except (OSError, ValueError, KeyError, TypeError):
        return "a run that has just started"


class _Lock:
    """An exclusive lock on an output folder (``flock`` on :data:`LOCK`, else the file).

    The lock file also holds the run's journal (what was there before, what it moved aside),
    so that the next run can undo what a run killed on the way (``SIGKILL``, power loss) left.
    """

    def __init__(self, path: Path, fd: int, holder: dict[str, object]) -> None:
        self.path = path
        self._fd = fd
        self._holder = holder
        #: The journal a killed run left in the lock file (``None``: none).
        self.left: dict[str, object] | None = None

    @classmethod
    def take(cls, folder: Path, command: str) -> _Lock:
        path = folder / LOCK
        for _ in range(10):
            fd = cls._open(path, folder)
            if fd is None:
                continue
            holder = {"command": command, "pid": os.getpid(), "host": socket.gethostname(),
                      "started": time.time()}
            lock = cls(path, fd, holder)
            lock.left = _journal_in(_read_all(fd))
            lock.record(None)
            return lock
        raise UserError(f"cannot lock {folder}: other runs keep taking it; try again")

    def record(self, journal: dict[str, object] | None) -> None:
        """Write who holds the lock, and the run's journal."""
        data = json.dumps({**self._holder, "journal": journal}).encode()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, data)

    @staticmethod
    def _open(path: Path, folder: Path) -> int | None:
        """The locked descriptor, ``None`` to try again; :class:`UserError` when held."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        try:
            import fcntl
        except ImportError:  # no flock (Windows): the file's existence is the lock
            fcntl = None
            flags |= os.O_EXCL
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:
            raise UserError(f"{folder} is being written by another tfod-doctor run "
                            f"({_holder_text(path)}); wait for it to end, or remove {path} if "
                            "no run is writing there") from None
        except OSError as exc:
            raise UserError(f"cannot lock {folder} ({path}): {exc.strerror or exc}") from None
        if fcntl is None:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(f"{folder} is being written by another tfod-doctor run "
                            f"({_holder_text(path)}): wait for it to end, or name another "
                            "folder") from None
        try:  # the holder before may have removed the file between our open and flock
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            return None
        return fd

    def release(self) -> None:
        """Remove the lock file and let go."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)


# -- a folder of outputs -------------------------------------------------------------------------


def _run_command() -> str:
    return shlex.join(["tfod-doctor", *sys.argv[1:]])


def read_ledger(out: Path) -> list[str] | None:
    """The names an earlier run listed as its outputs in ``out`` (``None``: no list)."""
    path = out / LEDGER
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        names = data["outputs"] if data.get("tool") == "tfod-doctor" else None
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        names = None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise UserError(f"{path} is not a list of outputs tfod-doctor wrote: remove it, or "
                        "name another folder")
    return [n for n in names if _plain(n) and n not in (LEDGER, LOCK)]


def glob_escape(name: str) -> str:
    """``name`` as a glob pattern that matches only itself."""
    return "".join(f"[{char}]" if char in "*?[" else char for char in name)


def _shown(names: Sequence[str]) -> str:
    return ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def _remove(path: Path) -> None:
    """Remove a file, a symbolic link (never what it points to) or a folder tree."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


class OutputFolder:
    """Hold ``out`` for a run that writes the names matching ``outputs`` (glob patterns) there.

    Use it as a context manager around everything the run writes::

        with OutputFolder(out, ["train-*-of-*.tfrecord", "manifest.jsonl"], protected,
                          overwrite=False, command="fix"):
            ...  # write the files
    """

    def __init__(self, out: Path, outputs: Sequence[str], protected: Protected = NO_INPUTS, *,
                 overwrite: bool = False, command: str = "") -> None:
        self.out = out
        self.outputs = [*outputs, TEMPORARY]
        self.protected = protected
        self.overwrite = overwrite
        self.command = command or _run_command()
        self._made: list[Path] = []
        self._lock: _Lock | None = None
        self._before: set[str] = set()
        self._previous: Path | None = None
        self._moved: list[str] = []

    def _ours(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.outputs)

    def __enter__(self) -> OutputFolder:
        check_folder(self.out, self.protected, self.outputs[:-1])
        self._make_folder()
        try:
            self._lock = _Lock.take(self.out, self.command)
            if self._lock.left is not None:
                _recover(self.out, self._lock.left)
            self._clear_earlier()
        except BaseException:
            self._let_go(failed=True)
            raise
        return self

    def _make_folder(self) -> None:
        missing = []
        folder = self.out.absolute()
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {self.out}: {exc.strerror or exc}") from None
        self._made = missing

    def _clear_earlier(self) -> None:
        """Refuse files that are in the way; with ``overwrite`` move an earlier run's aside."""
        ledger = read_ledger(self.out)
        earlier = set(ledger or ())
        present = sorted(name for name in os.listdir(self.out)
                         if self._ours(name) and not fnmatch.fnmatchcase(name, TEMPORARY))
        foreign = [name for name in present if name not in earlier]
        if foreign:
            raise self._foreign(foreign)
        found = sorted(name for name in earlier if os.path.lexists(self.out / name))
        if found and not self.overwrite:
            raise UserError(f"{self.out} already holds the outputs of an earlier tfod-doctor "
                            f"run ({_shown(found)}); pass --overwrite to replace them, or name "
                            "another folder")
        self._before = set(os.listdir(self.out))
        if found:  # journaled first: a run killed while moving is undone by the next one
            self._previous = Path(tempfile.mkdtemp(prefix=_PREVIOUS, dir=self.out))
            self._moved = [*found, LEDGER] if ledger is not None else found
            self._record(committed=False)
            for name in self._moved:
                if os.path.lexists(self.out / name):
                    os.replace(self.out / name, self._previous / name)
            self._before -= set(self._moved)
        self._record(committed=False)

    def add(self, name: str) -> Path:
        """Declare one more output, known only now; refused when a file not written by
        tfod-doctor is in its place. Returns its path."""
        if os.path.lexists(self.out / name) and name in self._before:
            raise self._foreign([name])
        self.outputs.insert(0, glob_escape(name))
        return self.out / name

    def _foreign(self, names: Sequence[str]) -> UserError:
        return UserError(f"{self.out} holds {_shown(names)}, which tfod-doctor did not write (no "
                         f"list of an earlier run's outputs, {LEDGER}, names "
                         f"{'it' if len(names) == 1 else 'them'}): files tfod-doctor did not "
                         "write are never replaced; move them away or name another folder")

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 trace: TracebackType | None) -> None:
        error = exc
        if exc is None:
            try:
                self._commit()
            except OSError as failed:
                error = failed
        if error is not None:
            free_note = _free(self.out) if isinstance(error, OSError) else ""
            self._roll_back()
            self._let_go(failed=True)
            if _is_write_error(error, self.out):
                raise write_error(error, error.filename or self.out, self.out, free_note) from None
            if exc is None:
                raise error
            return
        self._let_go(failed=False)

    def new_names(self) -> list[str]:
        """What this run has written into the folder so far."""
        skip = {LOCK, LEDGER, self._previous.name if self._previous else ""}
        return sorted(name for name in set(os.listdir(self.out)) - self._before
                      if name not in skip and self._ours(name)
                      and not fnmatch.fnmatchcase(name, TEMPORARY))

    def _record(self, committed: bool) -> None:
        """Journal in the lock file what the next run needs to undo this one if it is killed."""
        if self._lock is not None:
            self._lock.record({"before": sorted(self._before), "outputs": self.outputs,
                               "previous": self._previous.name if self._previous else None,
                               "moved": self._moved, "committed": committed})

    def _commit(self) -> None:
        ledger = {"tool": "tfod-doctor", "version": __version__, "outputs": self.new_names()}
        temporary = self.out / f"{LEDGER}.{os.getpid()}.partial"
        temporary.write_text(json.dumps(ledger, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.out / LEDGER)
        self._record(committed=True)
        if self._previous is not None:
            shutil.rmtree(self._previous, ignore_errors=True)
            self._previous = None

    def _roll_back(self) -> None:
        """Remove what this run wrote, and put an earlier run's outputs back."""
        _undo(self.out, self._before, self.outputs,
              self._previous.name if self._previous else None, self._moved)

    def _let_go(self, failed: bool) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None
        if failed:
            for folder in self._made:  # the folders this run made, deepest first, if empty
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _undo(out: Path, before: Iterable[str], outputs: Sequence[str], previous: str | None,
          moved: Sequence[str]) -> None:
    """Remove the names matching ``outputs`` that were not in ``before``, and move ``moved``
    back from the folder ``previous`` (an earlier run's outputs, kept aside)."""
    known = set(before)
    with contextlib.suppress(OSError):
        for name in set(os.listdir(out)) - known:
            if name != LOCK and any(fnmatch.fnmatchcase(name, p) for p in outputs):
                with contextlib.suppress(OSError):
                    _remove(out / name)
    if previous is None:
        return
    for name in moved:
        with contextlib.suppress(OSError):
            os.replace(out / previous / name, out / name)
    with contextlib.suppress(OSError):
        (out / previous).rmdir()


def _recover(out: Path, journal: dict[str, object]) -> None:
    """Undo what a run killed on the way left in ``out``, as its journal says."""
    previous = journal.get("previous")
    if not (isinstance(previous, str) and previous.startswith(_PREVIOUS) and _plain(previous)):
        previous = None
    if journal.get("committed"):  # it finished but for deleting the earlier outputs
        if previous is not None:
            shutil.rmtree(out / previous, ignore_errors=True)
        return
    _undo(out, _strings(journal, "before"), _strings(journal, "outputs"), previous,
          [name for name in _strings(journal, "moved") if _plain(name)])


def _strings(journal: dict[str, object], key: str) -> list[str]:
    value = journal.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _plain(name: str) -> bool:
    """Whether ``name`` is one entry of a folder (no separator, not ``.`` or ``..``)."""
    return bool(name) and "/" not in name and os.sep not in name and name not in (".", "..")
