"""Writing TFRecord files with the same framing as ``tf.io.TFRecordWriter``."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

from tfod_doctor.records.crc import masked_crc32c

_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")


def frame(payload: bytes) -> bytes:
    """One record as it is laid out in a file: length, its CRC, payload, payload CRC."""
    length = _LENGTH.pack(len(payload))
    return b"".join(
        (length, _CRC.pack(masked_crc32c(length)), payload, _CRC.pack(masked_crc32c(payload)))
    )


class TFRecordWriter:
    """Writes records to a path or a binary file object; byte-identical to TensorFlow's writer.

    Use it as a context manager, or call :meth:`close`. Only paths it opened itself are closed.
    """

    def __init__(self, target: str | Path | BinaryIO) -> None:
        if isinstance(target, (str, Path)):
            self._file: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owned = True
        else:
            self._file = target
            self._owned = False
        self.records_written = 0
        self.bytes_written = 0

    def write(self, payload: bytes) -> int:
        """Append one record; returns the byte offset where it starts."""
        offset = self.bytes_written
        data = frame(bytes(payload))
        self._file.write(data)
        self.records_written += 1
        self.bytes_written += len(data)
        return offset

    def flush(self) -> None:
        """Flush the underlying file."""
        self._file.flush()

    def close(self) -> None:
        """Flush, and close the file if this writer opened it."""
        self._file.flush()
        if self._owned:
            self._file.close()

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_records(path: str | Path, payloads: list[bytes]) -> None:
    """Write every payload to ``path`` as one TFRecord file."""
    with TFRecordWriter(path) as writer:
        for payload in payloads:
            writer.write(payload)
