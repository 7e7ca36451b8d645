"""Writing records into shards named ``NAME-00000-of-000NN.tfrecord``, deterministically.

``--num-shards N`` deals records round-robin over N files (record i goes to shard i mod N, as the
OD API's own dataset tools do); ``--shard-size SIZE`` fills one file after another up to SIZE
bytes. Shards are written under temporary names and renamed once the total is known.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tfod_doctor.errors import UserError
from tfod_doctor.records import TFRecordWriter

#: Shards of about this size when neither a count nor a size is given (TensorFlow's
#: performance guide recommends files of 100 MB and more).
DEFAULT_SHARD_BYTES = 100_000_000
_UNITS = {"": 1, "B": 1, "K": 1000, "KB": 1000, "M": 1000**2, "MB": 1000**2, "G": 1000**3,
          "GB": 1000**3, "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


def parse_size(text: str) -> int:
    """``"100MB"`` -> 100000000; ``"64MiB"``, ``"5000"`` (bytes) work too."""
    match = _SIZE.match(text)
    unit = match[2].upper() if match else ""
    if not match or unit not in _UNITS:
        raise UserError(f"cannot read the size {text!r}: write it as 100MB, 64MiB or 5000000")
    value = float(match[1]) * _UNITS[unit]
    if not math.isfinite(value):
        raise UserError(f"the shard size {text!r} is too large: write it as 100MB, 64MiB or "
                        "5000000")
    size = int(value)
    if size <= 0:
        raise UserError(f"the shard size must be positive, not {text!r}")
    return size


#: Longest shard-set name: with ``-00000-of-00000.tfrecord`` (and the temporary name) a shard's
#: file name stays within the 255 bytes file systems allow.
MAX_NAME_BYTES = 200


def check_shard_name(name: str) -> str:
    """``name`` when it can name shard files in the output folder (``train``, ``eval``,
    ``coco_val2017``); a :class:`UserError` saying why not otherwise.

    A name is one plain file-name part: not empty, no path separator (it would write outside
    the output folder, or into folders that do not exist), no leading dot (``..``, hidden
    files), no glob characters (the shards' pattern in the config would match other files), no
    control characters.
    """
    why = None
    if not name:
        why = "it is empty"
    elif "/" in name or "\\" in name:
        why = "it holds a path separator; shards are always written into --out"
    elif name.startswith("."):
        why = "it starts with a dot (.. and hidden files are not shard names)"
    elif any(char in "*?[]" for char in name):
        why = "it holds a glob character (* ? [ ]), and the shards' pattern would match others"
    elif any(ord(char) < 32 or ord(char) == 127 for char in name):
        why = "it holds a control character"
    elif len(name.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES:
        why = f"it is longer than {MAX_NAME_BYTES} bytes"
    if why is not None:
        raise UserError(f"--name {name!r} cannot name the shard files: {why}; use a plain "
                        "name such as train or eval")
    return name


def shard_name(name: str, index: int, count: int) -> str:
    """``train-00003-of-00010.tfrecord``."""
    return f"{name}-{index:05d}-of-{count:05d}.tfrecord"


def shard_pattern(name: str, count: int) -> str:
    """The glob that matches exactly the shards of one set: ``train-?????-of-00010.tfrecord``."""
    return f"{name}-?????-of-{count:05d}.tfrecord"


@dataclass(frozen=True)
class Sharding:
    """How to cut a split into files: a fixed count, or a size in bytes per file."""

    num_shards: int | None = None
    shard_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.num_shards is not None and self.shard_bytes is not None:
            raise UserError("give --num-shards or --shard-size, not both")
        if self.num_shards is not None and self.num_shards < 1:
            raise UserError("--num-shards must be at least 1")


class ShardedWriter:
    """Writes the records of one split into ``folder`` as ``NAME-0000k-of-0000N.tfrecord``.

    Call :meth:`write` for each record in order and :meth:`close` at the end, which renames the
    shards to their final names and returns them. Empty shards are not written: a split with
    fewer records than ``num_shards`` gets fewer files.
    """

    def __init__(self, folder: Path, name: str, sharding: Sharding = Sharding()) -> None:
        self.folder = folder
        self.name = name
        self.sharding = sharding
        self.records = 0
        self.bytes = 0
        self._writers: list[TFRecordWriter] = []
        self._counts: list[int] = []
        self._sizes: list[int] = []
        #: Shard place -> final file name (``None`` for an empty place), set by :meth:`close`.
        self.final_names: list[str | None] = []

    def _temp(self, index: int) -> Path:
        return self.folder / f".{self.name}-{index:05d}.partial"

    def _open(self) -> None:
        self._writers.append(TFRecordWriter(self._temp(len(self._writers))))
        self._counts.append(0)
        self._sizes.append(0)

    def _target(self, size: int) -> int:
        count = self.sharding.num_shards
        if count is not None:
            index = self.records % count
            while len(self._writers) <= index:
                self._open()
            return index
        limit = self.sharding.shard_bytes or DEFAULT_SHARD_BYTES
        if not self._writers or (self._sizes[-1] and self._sizes[-1] + size > limit):
            self._open()
        return len(self._writers) - 1

    def write(self, payload: bytes) -> tuple[int, int]:
        """Append one record; returns ``(shard place, index in that shard)``.

        The shard place indexes :attr:`final_names` once the writer is closed.
        """
        index = self._target(len(payload) + 16)
        writer = self._writers[index]
        writer.write(payload)
        position = self._counts[index]
        self._counts[index] += 1
        self._sizes[index] = writer.bytes_written
        self.records += 1
        self.bytes += len(payload) + 16
        return index, position

    def close(self) -> list[Path]:
        """Close every shard and give them their final names (in shard order)."""
        for writer in self._writers:
            writer.close()
        used = [i for i, count in enumerate(self._counts) if count]
        for i, count in enumerate(self._counts):
            if not count:
                self._temp(i).unlink(missing_ok=True)
        final = []
        self.final_names = [None] * len(self._counts)
        for new_index, old_index in enumerate(used):
            path = self.folder / shard_name(self.name, new_index, len(used))
            os.replace(self._temp(old_index), path)
            final.append(path)
            self.final_names[old_index] = path.name
        return final

    def abort(self) -> None:
        """Close and delete everything written so far."""
        for i, writer in enumerate(self._writers):
            writer.close()
            self._temp(i).unlink(missing_ok=True)

    @property
    def counts(self) -> list[int]:
        """Records per non-empty shard, in shard order."""
        return [count for count in self._counts if count]
