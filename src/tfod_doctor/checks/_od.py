"""What the OD API record checks share: the record decoded once, and how classes resolve.

The engine hands every check and aggregator the same :class:`FeatureView` for a record;
:func:`od_record` turns it into an :class:`ODRecord` once and hands the same one back until the
next record (a one-entry cache keyed by identity: constant memory, no repeated parsing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tfod_doctor.checks.context import CheckContext
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi.foreign import NONE, ForeignKeys, foreign_keys, is_unread
from tfod_doctor.odapi.record import ODRecord, texts_of
from tfod_doctor.records import FeatureView, Kind

#: The OD API's default ``max_number_of_boxes`` (input_reader.proto).
DEFAULT_MAX_BOXES = 100
#: At most this many items listed in a finding's evidence.
EVIDENCE_ITEMS = 10

#: The last view asked about and its record (a one-entry cache; ``None`` before the first).
_last_view: FeatureView | None = None
_last_record: ODRecord | None = None


def od_record(view: FeatureView) -> ODRecord:
    """The OD API view of the record behind ``view``, built once per record."""
    global _last_view, _last_record
    if view is _last_view:
        return _last_record  # type: ignore[return-value]
    record = _last_record = ODRecord(view)
    _last_view = view
    return record


def schema_memo(view: FeatureView) -> dict[Any, Any]:
    """A memo shared by every record with the same keys and kinds.

    Checks keep in it what follows from the keys and kinds alone (for example which keys the
    decoder does not know), so the records of a dataset, nearly all alike, work it out once.
    """
    return view.shared.memo


def from_schema(view: FeatureView, name: Any, make: Callable[..., Any], *args: Any) -> Any:
    """``make(view, *args)``, made once per schema and ``name``: ``make`` must read only the
    keys and kinds of the view (and ``name`` must tell ``args`` apart)."""
    shared = schema_memo(view)
    value = shared.get(name, _MISSING)
    if value is _MISSING:
        value = shared[name] = make(view, *args)
    return value


_MISSING = object()


def _unread_keys(view: FeatureView) -> tuple[str, ...]:
    return tuple(key for key in view.kinds if is_unread(key))


def record_foreign_keys(view: FeatureView) -> ForeignKeys:
    """Boxes and classes of the record under keys the OD API does not read (once per record)."""
    memo = od_record(view).memo
    found = memo.get("foreign")
    if found is None:
        # Without a key outside the decoder's, nothing can be foreign.
        found = foreign_keys(view) if from_schema(view, "unread", _unread_keys) else NONE
        memo["foreign"] = found
    return found


def texts_are_read(ctx: CheckContext) -> bool:
    """Whether the decoder maps ``class/text`` through a label map (``label_map_path`` set).

    Without a config, a label map given to the scan stands for ``label_map_path``.
    """
    if ctx.label_map_in_reader is not None:
        return ctx.label_map_in_reader
    return ctx.label_map is not None


def reader_known(ctx: CheckContext) -> bool:
    """Whether an input reader's settings are known (a config was read), so flags are facts."""
    return ctx.label_map_in_reader is not None


def max_boxes(ctx: CheckContext) -> int:
    """``max_number_of_boxes`` in effect: the config's, else the OD API default."""
    return ctx.max_boxes if ctx.max_boxes is not None else DEFAULT_MAX_BOXES


@dataclass(slots=True)
class Classes:
    """The class of every box as the decoder resolves it.

    ``source`` is the key the decoder takes the classes from. ``ids`` holds the resolved ids
    (``-1`` for text the label map does not know), or ``None`` when they cannot be known here
    (text read through a label map that was not given). ``names`` holds the text per box
    when the classes come from text. Not frozen, because one is made per record and a frozen
    dataclass costs several times as much to make; treat it as a value all the same.
    """

    source: str
    ids: Sequence[int] | None
    names: Sequence[str] | None = None

    @property
    def count(self) -> int:
        """How many classes the decoder gets."""
        if self.names is not None:
            return len(self.names)
        return len(self.ids or ())


def resolve(ctx: CheckContext, text_key: str, label_key: str, texts: Sequence[bytes],
            labels: Sequence[int]) -> Classes:
    """How the decoder resolves one pair of text/label lists (object- or image-level).

    With ``label_map_path`` set, text wins and the labels are read only when there is no text
    (tf_slim's BackupHandler); without it, only the labels are read.
    """
    if texts and texts_are_read(ctx):
        names = texts_of(texts)
        table = ctx.label_map
        ids = table.lookup_all(texts) if table is not None else None
        return Classes(text_key, ids, names)
    return Classes(label_key, labels)


def box_classes(record: ODRecord, ctx: CheckContext) -> Classes:
    """The classes of the record's boxes as the decoder resolves them (once per record)."""
    cached = record.memo.get("classes")
    if cached is None or cached[0] is not ctx:
        cached = record.memo["classes"] = (
            ctx, resolve(ctx, K.TEXT, K.LABEL, record.texts, record.labels))
    return cached[1]


def n_values(view: FeatureView, key: str) -> int:
    """How many values ``key`` holds (0 when absent), without touching absent keys."""
    return len(view[key]) if key in view.kinds else 0


def kind_ok(view: FeatureView, key: str) -> bool:
    """Whether ``key`` is absent or of the kind the decoder parses (else F003 reports it)."""
    kind = view.kind(key)
    return kind is None or kind is Kind.NONE or kind in K.KINDS_OF_KEY.get(key, (kind,))


_SINGULAR = {"have": "has", "are": "is", "reach": "reaches"}


def listing(indices: Sequence[int], verb: str = "", limit: int = EVIDENCE_ITEMS) -> str:
    """``boxes 0, 3, 7 have`` / ``box 2 has`` / ``boxes 0, 1, 2, ... (12 in all) are``."""
    shown = ", ".join(str(i) for i in indices[:limit])
    if len(indices) > limit:
        shown += f", ... ({len(indices)} in all)"
    one = len(indices) == 1
    text = f"box{'' if one else 'es'} {shown}"
    if verb:
        text += " " + (_SINGULAR.get(verb, verb) if one else verb)
    return text


def rounded(values: Sequence[float], digits: int = 4) -> list[float | str]:
    """Values for evidence: rounded, with NaN and infinities as strings (JSON has none)."""
    out: list[float | str] = []
    for value in values:
        if value != value or value in (float("inf"), float("-inf")):
            out.append(str(value))
        else:
            out.append(round(value, digits))
    return out
