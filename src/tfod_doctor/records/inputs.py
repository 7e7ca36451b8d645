"""Reading an input file whole: a config, a label map, an annotation file, a log, an image.

Every such read goes through here, so that no input can hang the tool or fill its memory: the
file must be a regular file (a named pipe, ``/dev/zero`` or a socket is refused before it is
read, and opening never waits for a writer), and it is read up to a size cap per kind of input,
stated in the message when a file is larger. ``TFOD_DOCTOR_MAX_INPUT_MB`` raises (or lowers)
every cap at once.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

#: The environment variable that sets every cap, in MB.
CAP_VARIABLE = "TFOD_DOCTOR_MAX_INPUT_MB"
_MB = 1 << 20
#: Streams are read in pieces this large, so no buffer is sized by the cap.
_CHUNK = 4 * _MB

_FILE_TYPES = {
    stat.S_IFSOCK: "a socket",
    stat.S_IFIFO: "a named pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


@dataclass(frozen=True)
class Cap:
    """How many MB of one kind of input are read at most (``what`` names the kind)."""

    what: str
    mb: int

    @property
    def bytes(self) -> int:
        """The cap in bytes: ``TFOD_DOCTOR_MAX_INPUT_MB`` if set to a number, else ``mb``."""
        return _override_mb(self.mb) * _MB

    def describe(self) -> str:
        """The cap as the messages state it."""
        return f"{_override_mb(self.mb)} MB"


#: Configs, label maps, logs, per-image annotation files (VOC XML, YOLO txt), class lists.
TEXT = Cap("text input", 32)
#: Whole-dataset annotation files: a COCO JSON, a CSV, a conversion manifest.
ANNOTATIONS = Cap("annotation file", 2048)
#: One image file.
IMAGE = Cap("image", 256)


def _override_mb(default: int) -> int:
    value = os.environ.get(CAP_VARIABLE, "").strip()
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        return default


class InputRefused(OSError):
    """An input that is not read: not a regular file, or larger than its cap. ``strerror``
    says why in words (``it is a named pipe (FIFO), not a regular file``)."""


def not_regular(mode: int) -> str | None:
    """What a file of this ``st_mode`` is when it is no regular file (``a named pipe (FIFO)``,
    ``a directory``...), or ``None`` for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    return _FILE_TYPES.get(stat.S_IFMT(mode), "not a regular file")


def _too_large(size: int | None, cap: Cap) -> InputRefused:
    what = f"it is {size / _MB:.1f} MB," if size is not None else "it holds"
    return InputRefused(
        errno.EFBIG,
        f"{what} more than the {cap.describe()} a {cap.what} may have (set "
        f"{CAP_VARIABLE}=N to read up to N MB)",
    )


def open_input(path: str | Path, cap: Cap | None = TEXT) -> BinaryIO:
    """Open a regular file for reading, without waiting on a FIFO; ``OSError`` otherwise
    (``IsADirectoryError`` for a folder, :class:`InputRefused` for a pipe, a device, a socket,
    or a file larger than ``cap``; ``None``: any size, for a caller that reads only a part)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        what = not_regular(info.st_mode)
        if what == "a directory":
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(path))
        if what is not None:
            raise InputRefused(errno.EINVAL, f"it is {what}, not a regular file")
        if cap is not None and info.st_size > cap.bytes:
            raise _too_large(info.st_size, cap)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_capped(handle: BinaryIO | TextIO, cap: Cap = TEXT) -> bytes | str:
    """All of an open stream (standard input, a file that grows), refused past ``cap`` (bytes
    of a binary stream, characters of a text one)."""
    chunks = [handle.read(0)]  # b"" or ""
    total = 0
    while chunk := handle.read(_CHUNK):
        total += len(chunk)
        if total > cap.bytes:
            raise _too_large(None, cap)
        chunks.append(chunk)
    return chunks[0][:0].join(chunks)


def read_input_bytes(path: str | Path, cap: Cap = TEXT) -> bytes:
    """The bytes of a regular file of at most ``cap`` (see :func:`open_input`)."""
    with open_input(path, cap) as handle:
        return bytes(read_capped(handle, cap))  # capped again: it may grow once open


def read_input_text(path: str | Path, cap: Cap = TEXT, encoding: str = "utf-8",
                    errors: str = "replace") -> str:
    """The text of a regular file of at most ``cap``, with universal newlines as
    ``Path.read_text`` gives it."""
    text = read_input_bytes(path, cap).decode(encoding, errors)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_input_head(path: str | Path, n: int) -> bytes:
    """The first ``n`` bytes of a regular file (any size), to sniff what it is."""
    with open_input(path, None) as handle:
        return handle.read(n)
