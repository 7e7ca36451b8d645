"""The OD API installed here, if any: parse with its own protos to show training's own error.

Training reads pipeline.config with the installed ``object_detection`` package's generated protos
and ``text_format.Merge``. When that package imports, tfod-doctor parses the config the same way,
so a user sees TensorFlow's exact message next to tfod-doctor's, and learns when the installed
package is older than the config (a field it does not know yet).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

_POSITION = re.compile(r"^(\d+):(\d+) : ")


@dataclass(frozen=True)
class InstalledApi:
    """The message classes of an installed OD API, and where it was found."""

    pipeline: Any
    label_map: Any
    origin: str


@dataclass(frozen=True)
class WitnessError:
    """What the installed OD API's parser said, and where."""

    message: str
    line: int | None
    column: int | None


@cache
def installed_api() -> InstalledApi | None:
    """The installed OD API's protos, or ``None`` when ``object_detection`` does not import."""
    try:
        from object_detection.protos import pipeline_pb2, string_int_label_map_pb2
    except Exception:
        return None
    return InstalledApi(pipeline_pb2.TrainEvalPipelineConfig,
                        string_int_label_map_pb2.StringIntLabelMap,
                        getattr(pipeline_pb2, "__file__", "object_detection"))


def merge_error(message_class: Any, text: str) -> WitnessError | None:
    """Training's ``text_format.Merge`` of ``text``: its ParseError, or ``None`` if it parses."""
    from google.protobuf import text_format

    try:
        text_format.Merge(text, message_class())
    except text_format.ParseError as exc:
        match = _POSITION.match(str(exc))
        if match:
            return WitnessError(f"ParseError: {exc}", int(match[1]), int(match[2]))
        return WitnessError(f"ParseError: {exc}", None, None)
    return None
