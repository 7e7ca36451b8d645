"""The tf.train.Example codec: decode a payload into a light feature view, encode features.

The message classes come from this package's own ``example.proto`` (wire-identical to
TensorFlow's), registered under the package ``tfod_doctor.records`` so that both can live in one
process. Decoding uses protobuf's C (upb) backend when it is installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from enum import Enum
from typing import Any

from google.protobuf import descriptor_pool
from google.protobuf.message import DecodeError

from tfod_doctor.records._example_descriptor import SERIALIZED


def _message_classes() -> dict[str, type]:
    pool = descriptor_pool.Default()
    try:
        file_desc = pool.FindFileByName("tfod_doctor/records/example.proto")
    except KeyError:
        file_desc = pool.AddSerializedFile(SERIALIZED)
    try:
        from google.protobuf.message_factory import GetMessageClass
    except ImportError:  # protobuf < 4.22
        from google.protobuf.message_factory import MessageFactory

        factory = MessageFactory(pool)
        return {n: factory.GetPrototype(d) for n, d in file_desc.message_types_by_name.items()}
    return {n: GetMessageClass(d) for n, d in file_desc.message_types_by_name.items()}


_CLASSES = _message_classes()
Example = _CLASSES["Example"]
Features = _CLASSES["Features"]
Feature = _CLASSES["Feature"]
BytesList = _CLASSES["BytesList"]
FloatList = _CLASSES["FloatList"]
Int64List = _CLASSES["Int64List"]
RawExample = _CLASSES["RawExample"]


class Kind(str, Enum):
    """Which list a feature holds; ``NONE`` is a feature with no list set at all."""

    BYTES = "bytes_list"
    FLOAT = "float_list"
    INT64 = "int64_list"
    NONE = "none"

    @property
    def tf_name(self) -> str:
        """The dtype name TensorFlow's parser uses in its messages (``string``, ``float``...)."""
        return {"bytes_list": "string", "float_list": "float", "int64_list": "int64"}.get(
            self.value, "none"
        )


class Schema:
    """The keys of a record with each one's :class:`Kind`, shared by every record that has them.

    Records written by one script share a schema, so a view looks its schema up instead of
    building it, and callers can keep in :attr:`memo` what follows from the keys and kinds alone.
    """

    __slots__ = ("fields", "kinds", "memo", "pairs")

    def __init__(self, kinds: dict[str, Kind], fields: tuple[str | None, ...]) -> None:
        #: ``key -> Kind`` (shared: never modify it).
        self.kinds = kinds
        #: Every ``(key, kind)``, in the record's order.
        self.pairs: tuple[tuple[str, Kind], ...] = tuple(kinds.items())
        #: The name of each key's list in the message (``None``: no list set), in order.
        self.fields = fields
        #: Whatever callers derive from the keys and kinds alone, keyed as they choose.
        self.memo: dict[Any, Any] = {}


#: Schemas seen so far, by ``(keys, names of their lists)``; at most ``_MAX_SCHEMAS`` are kept.
_SCHEMAS: dict[tuple[tuple[str, ...], tuple[str | None, ...]], Schema] = {}
#: The schema last seen with each tuple of keys: what the next record with them most likely has.
_LAST_WITH_KEYS: dict[tuple[str, ...], Schema] = {}
_MAX_SCHEMAS = 1024
_KIND_OF_FIELD: dict[str | None, Kind] = {kind.value: kind for kind in Kind}
_KIND_OF_FIELD[None] = Kind.NONE


def _schema_of(names: tuple[str, ...], fields: tuple[str | None, ...]) -> Schema:
    """The shared :class:`Schema` of keys ``names`` holding lists ``fields``."""
    signature = (names, fields)
    schema = _SCHEMAS.get(signature)
    if schema is None:
        kinds = dict(zip(names, map(_KIND_OF_FIELD.__getitem__, fields), strict=True))
        schema = Schema(kinds, fields)
        if len(_SCHEMAS) < _MAX_SCHEMAS:
            _SCHEMAS[signature] = schema
            _LAST_WITH_KEYS[names] = schema
    elif _LAST_WITH_KEYS.get(names) is not schema:
        _LAST_WITH_KEYS[names] = schema
    return schema


def _raw_features(example: Any) -> dict[str, Any]:
    """The features of an example read entry by entry, keys decoded with backslash escapes.

    For keys that are not valid UTF-8 (TensorFlow's parser accepts them; protobuf's map cannot
    look them up). As in a map, the last entry of a key wins.
    """
    raw = RawExample.FromString(example.SerializeToString())
    return {
        entry.key.decode("utf-8", "backslashreplace"): entry.value
        for entry in raw.features.feature
    }


def _read_features(features: Mapping[str, Any]
                   ) -> tuple[dict[str, Sequence[Any]], tuple[str | None, ...]]:
    """Each key's list of values (protobuf's container, not a copy), and the name of each
    key's list (``None`` for a feature with no list set)."""
    values: dict[str, Sequence[Any]] = {}
    fields: list[str | None] = []
    for key in features:  # faster than .items() on protobuf's map
        feature = features[key]
        name = feature.WhichOneof("kind")
        fields.append(name)
        values[key] = () if name is None else getattr(feature, name).value
    return values, tuple(fields)


def _read_as(features: Mapping[str, Any], keys: tuple[str, ...], schema: Schema
             ) -> dict[str, Sequence[Any]] | None:
    """Each key's list of values when every list is of the kind ``schema`` says, else ``None``.

    A list that holds values proves its kind (a feature holds one list at most), so only empty
    or unset ones are asked which list they are: the usual record is read without asking.
    """
    values: dict[str, Sequence[Any]] = {}
    for key, field in zip(keys, schema.fields, strict=True):
        feature = features[key]
        if field is None:
            if feature.WhichOneof("kind") is not None:
                return None
            values[key] = ()
            continue
        listed = getattr(feature, field).value
        if not listed and feature.WhichOneof("kind") != field:
            return None
        values[key] = listed
    return values


def _read_map(features: Mapping[str, Any]) -> tuple[dict[str, Sequence[Any]], Schema]:
    """Each key's list of values, and the schema: read as the last record with the same keys
    was when its kinds still hold (see :func:`_read_as`), else asking each feature its kind."""
    keys = tuple(features)
    shared = _LAST_WITH_KEYS.get(keys)
    values = None if shared is None else _read_as(features, keys, shared)
    if values is None or shared is None:
        values, fields = _read_features(features)
        shared = _schema_of(keys, fields)
    return values, shared


class ExampleDecodeError(ValueError):
    """The payload is not a serialized tf.train.Example."""


def parse_example(payload: bytes) -> Any:
    """Decode a payload into an ``Example``; :class:`ExampleDecodeError` if it is not one."""
    try:
        return Example.FromString(payload)
    except (DecodeError, RuntimeError, TypeError):
        raise ExampleDecodeError("the bytes do not parse as a tf.train.Example") from None


class FeatureView(Mapping[str, Sequence[Any]]):
    """One decoded example as ``key -> values``, with each key's :class:`Kind`.

    The view reads the protobuf message in place: values are protobuf's repeated containers
    (sequences), not copies. ``view[key]`` is empty for a key that is absent. A key that is not
    valid UTF-8 (TensorFlow's parser accepts it) is shown with backslash escapes. Each feature is
    looked at once, when the view is made; the first value of a bytes list is copied out of the
    message at most once (:meth:`first_bytes`), however many checks read it.
    """

    __slots__ = ("_first", "_lengths", "_values", "kinds", "shared")

    def __init__(self, example: Any) -> None:
        try:
            self._values, shared = _read_map(example.features.feature)
        except UnicodeDecodeError:  # a key that is not UTF-8: protobuf cannot look it up
            self._values, shared = _read_map(_raw_features(example))
        #: The keys and kinds, shared with every record that has the same ones.
        self.shared = shared
        #: ``key -> Kind`` (shared by the records of one schema: never modify it).
        self.kinds: dict[str, Kind] = self.shared.kinds
        self._first: dict[str, bytes] = {}
        self._lengths: tuple[int, ...] | None = None

    @classmethod
    def from_payload(cls, payload: bytes) -> FeatureView:
        """Decode a payload; :class:`ExampleDecodeError` if it is not a tf.train.Example."""
        return cls(parse_example(payload))

    @property
    def lists(self) -> Mapping[str, Sequence[Any]]:
        """``key -> values`` of the keys present (the view's own dict: never modify it)."""
        return self._values

    def kind(self, key: str) -> Kind | None:
        """The kind of list under ``key``, or ``None`` when the key is absent."""
        return self.kinds.get(key)

    def __getitem__(self, key: str) -> Sequence[Any]:
        return self._values.get(key, ())

    def __contains__(self, key: object) -> bool:
        return key in self.kinds

    def __iter__(self) -> Iterator[str]:
        return iter(self.kinds)

    def __len__(self) -> int:
        return len(self.kinds)

    def length(self, key: str) -> int:
        """How many values ``key`` holds (0 when absent)."""
        return len(self[key])

    @property
    def schema(self) -> tuple[tuple[str, Kind], ...]:
        """Every ``(key, kind)``, in the record's order.

        Records written by one script share it, so what follows from the keys and kinds alone
        can be worked out once per schema (see :attr:`shared`).
        """
        return self.shared.pairs

    def lengths(self) -> tuple[int, ...]:
        """How many values every key holds, in the order of :attr:`schema` (made once)."""
        lengths = self._lengths
        if lengths is None:
            lengths = self._lengths = tuple(map(len, self._values.values()))
        return lengths

    def shapes(self) -> list[tuple[str, Kind, int]]:
        """``(key, kind, number of values)`` of every feature."""
        return [(key, kind, length) for (key, kind), length
                in zip(self.schema, self.lengths(), strict=True)]

    def floats(self, key: str) -> Sequence[float]:
        """The values of a float list, or ``()`` when the key is absent or of another kind."""
        return self[key] if self.kinds.get(key) is Kind.FLOAT else ()

    def ints(self, key: str) -> Sequence[int]:
        """The values of an int64 list, or ``()`` when the key is absent or of another kind."""
        return self[key] if self.kinds.get(key) is Kind.INT64 else ()

    def bytes_list(self, key: str) -> Sequence[bytes]:
        """The values of a bytes list, or ``()`` when the key is absent or of another kind."""
        return self[key] if self.kinds.get(key) is Kind.BYTES else ()

    def first_bytes(self, key: str) -> bytes:
        """The first value of a bytes list, or ``b""`` (copied out of the message once)."""
        first = self._first.get(key)
        if first is None:
            values = self.bytes_list(key)
            first = self._first[key] = values[0] if values else b""
        return first

    def first_int(self, key: str) -> int | None:
        """The first value of an int64 list, or ``None``."""
        values = self.ints(key)
        return values[0] if values else None

    def to_python(self) -> dict[str, tuple[Kind, list[Any]]]:
        """Every feature as ``key -> (kind, list of values)``: plain Python objects."""
        return {key: (kind, list(self[key])) for key, kind in self.kinds.items()}


# -- encoding -----------------------------------------------------------------------------------


class _Typed:
    """A list of values with an explicit kind, for writing exactly the kind you mean."""

    kind: Kind = Kind.NONE
    __slots__ = ("values",)

    def __init__(self, values: Iterable[Any] = ()) -> None:
        if isinstance(values, (bytes, str, int, float)):
            values = [values]
        self.values = list(values)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values!r})"


class Floats(_Typed):
    """Values to write as a ``float_list``."""

    kind = Kind.FLOAT


class Ints(_Typed):
    """Values to write as an ``int64_list``."""

    kind = Kind.INT64


class Bytes(_Typed):
    """Values to write as a ``bytes_list`` (``str`` is encoded as UTF-8)."""

    kind = Kind.BYTES


class NoKind(_Typed):
    """A feature with no list set at all (``Feature()``)."""

    kind = Kind.NONE


def as_typed(values: Any) -> _Typed:
    """Values with their kind: explicit wrappers as they are, plain values by inference."""
    if isinstance(values, _Typed):
        return values
    if hasattr(values, "tolist"):  # numpy arrays and scalars
        values = values.tolist()
    if isinstance(values, (bytes, bytearray, str, bool, int, float)):
        values = [values]
    values = list(values)
    if not values:
        raise ValueError("an empty list has no kind: write Floats([]), Ints([]) or Bytes([])")
    if all(isinstance(v, (bytes, bytearray, str)) for v in values):
        return Bytes(values)
    if all(isinstance(v, (bool, int)) for v in values):
        return Ints(values)
    if all(isinstance(v, (bool, int, float)) for v in values):
        return Floats(values)
    raise TypeError(f"cannot tell the kind of {values[:3]!r}...: use Floats, Ints or Bytes")


def _fill(feature: Any, typed: _Typed) -> None:
    if typed.kind is Kind.BYTES:
        feature.bytes_list.value.extend(
            v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in typed.values
        )
    elif typed.kind is Kind.FLOAT:
        feature.float_list.value.extend(float(v) for v in typed.values)
    elif typed.kind is Kind.INT64:
        feature.int64_list.value.extend(int(v) for v in typed.values)


def build_example(features: Mapping[str, Any]) -> Any:
    """An ``Example`` message from ``key -> values``.

    Values may be scalars, lists, numpy arrays, or :class:`Floats` / :class:`Ints` /
    :class:`Bytes` / :class:`NoKind` to choose the kind explicitly (needed for empty lists, and to
    write a wrong kind on purpose). Plain ints become int64, any float makes a float list.
    """
    example = Example()
    target = example.features.feature
    for key, values in features.items():
        feature = target[key]
        typed = as_typed(values)
        if typed.kind is Kind.NONE:
            feature.SetInParent()
        else:
            _fill(feature, typed)
    return example


def encode_example(features: Mapping[str, Any]) -> bytes:
    """The serialized ``Example`` for ``key -> values`` (see :func:`build_example`)."""
    return build_example(features).SerializeToString(deterministic=True)
