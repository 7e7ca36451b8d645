"""F rules: every feature of a record against the decoder's key table (``odapi.features``)."""

from __future__ import annotations

from typing import Any

from tfod_doctor.catalogue import features as F
from tfod_doctor.checks._od import (
    from_schema,
    n_values,
    od_record,
    reader_known,
    record_foreign_keys,
    rounded,
)
from tfod_doctor.checks._schema_token import schema_token
from tfod_doctor.checks.base import Emit, RecordPlace, aggregator, record_check
from tfod_doctor.checks.context import CheckContext, InputFlags
from tfod_doctor.findings import Finding, Location, Severity
from tfod_doctor.odapi import features as K
from tfod_doctor.odapi import fit as fit_module
from tfod_doctor.odapi.fit import named_fit
from tfod_doctor.odapi.producers import producer_of
from tfod_doctor.odapi.suggest import suggest_key
from tfod_doctor.records import FeatureView, Kind

_PER_BOX_INDEX_ERROR = "InvalidArgumentError: indices[0] = 0 is not in [0, 0)"


def flags_known(ctx: CheckContext) -> bool:
    """Whether the InputReader flags are facts (a config was read, or flags were given)."""
    return reader_known(ctx) or ctx.flags != InputFlags()


@record_check
def check_features(view: FeatureView, where: RecordPlace, ctx: CheckContext, emit: Emit) -> None:
    """F001-F004 and the per-record part of F006 (F008/F009 keys are left to checks.foreign)."""
    closer, positions, counts = from_schema(view, ("features", ctx.flags), _key_plan, ctx.flags)
    if not closer and od_record(view).image and tuple(
            map(view.lengths().__getitem__, positions)) == counts:
        return  # every key known and of its kind, the image there, every FixedLen count right
    spec = K.decoder_keys(ctx.flags)
    foreign: tuple[str, ...] | None = None
    for key, kind in view.kinds.items():
        key_spec = spec.get(key)
        if key_spec is None:
            if (key not in K.KNOWN_UNUSED and key not in K.FLAG_OF_KEY
                    and producer_of(key) is None):  # known writers' extras: ProducerExtras
                if foreign is None:  # F008/F009 report these keys (one finding per cause)
                    foreign = record_foreign_keys(view).keys()
                if key not in foreign:
                    _unknown_key(view, key, kind, spec, where, emit)
        elif kind is not Kind.NONE and (kind is not key_spec.kind
                                           or key_spec.count is not None):
            _kind_and_count(view, key, kind, key_spec, where, emit)
    _missing_image(view, where, emit)
    _flag_keys_missing(view, ctx, where, emit)


def _key_plan(view: FeatureView, flags: InputFlags
              ) -> tuple[bool, tuple[int, ...], tuple[int, ...]]:
    """From the keys and kinds alone: whether the record needs a closer look (a key unknown or
    of the wrong kind, no image bytes, a flag's keys missing), and the FixedLen keys to count:
    their positions in the schema, and the counts they must have."""
    spec = K.decoder_keys(flags)
    required, per_box = K.flag_requirements(flags)
    kinds = view.kinds
    closer = bool(per_box) or kinds.get(K.IMAGE) is not Kind.BYTES or any(
        kinds.get(key_spec.key) in (None, Kind.NONE) for key_spec in required)
    positions, counts = [], []
    for position, (key, kind) in enumerate(view.schema):
        key_spec = spec.get(key)
        if key_spec is None:
            closer = closer or (key not in K.KNOWN_UNUSED and key not in K.FLAG_OF_KEY
                                and producer_of(key) is None)
        elif kind is not Kind.NONE:
            if kind is not key_spec.kind:
                closer = True
            elif key_spec.count is not None:
                positions.append(position)
                counts.append(key_spec.count)
    return closer, tuple(positions), tuple(counts)


def _unknown_key(view: FeatureView, key: str, kind: Kind, spec: dict[str, K.KeySpec],
                 where: RecordPlace, emit: Emit) -> None:
    """F002: data loss only when the values say the key holds what a key the record lacks
    should hold (``odapi.fit``); otherwise information."""
    count = len(view[key])
    evidence: dict[str, Any] = {"kind": kind.value, "values": count}
    by_name = named_fit(view, key, spec)
    if by_name is not None and by_name.fits:
        _lost(key, by_name, count, "its name and values", where, emit, evidence)
        return
    by_values = _side_by_values(view, key, spec)
    if by_values is not None:
        fit, others = by_values
        _lost(key, fit, count, "its values", where, emit, evidence, others)
        return
    suggestion = suggest_key(key)
    if suggestion is None:
        emit(F.UNKNOWN_KEY.finding(
            f"{key} is not a key the OD API reads: its {count} value(s) are ignored",
            where.at(key), severity=Severity.INFO, **evidence))
        return
    evidence.update(suggestion=suggestion.key, matched=suggestion.how)
    message = f"{key} is not a key the OD API reads; its name is close to {suggestion.key} " \
              f"({suggestion.how})"
    if by_name is not None:
        message += f", but its values do not fit it: {by_name.describe()}"
        evidence["fit"] = list(by_name.evidence)
    emit(F.UNKNOWN_KEY.finding(message + ". Its values are ignored", where.at(key),
                               severity=Severity.INFO, **evidence))


def _side_by_values(view: FeatureView, key: str, spec: dict[str, K.KeySpec]
                    ) -> tuple[fit_module.Fit, list[str]] | None:
    """When the record lacks one box side and ``key`` fits as it: the fit, and the other keys
    that fit as well (then only the user can tell which it is)."""
    unread = [k for k in view.kinds if k not in spec and k not in K.KNOWN_UNUSED
              and producer_of(k) is None]
    found = fit_module.missing_side(view, unread)
    if found is None or key not in found[1]:
        return None
    side, fitting = found
    return fit_module.fit_as(view, key, side), [k for k in fitting if k != key]


def _lost(key: str, fit: fit_module.Fit, count: int, matched: str, where: RecordPlace,
          emit: Emit, evidence: dict[str, Any], others: list[str] | None = None) -> None:
    message = (f"{key} is not a key the OD API reads, and by {matched} it holds what "
               f"{fit.target} should hold ({fit.describe()}); the record has no {fit.target}, "
               f"so these {count} value(s) are lost")
    hint = None
    if others:
        message += f". {', '.join(others)} fit{'s' if len(others) == 1 else ''} as well"
        hint = (f"only you can tell which key holds {fit.target}: say it with `tfod-doctor fix "
                f"--rename KEY={fit.target}`")
    emit(F.UNKNOWN_KEY.finding(
        message, where.at(key), hint=hint, suggestion=fit.target, matched=matched,
        fit=list(fit.evidence), **({"also_fit": others} if others else {}), **evidence))


def _kind_and_count(view: FeatureView, key: str, kind: Kind, spec: K.KeySpec,
                    where: RecordPlace, emit: Emit) -> None:
    if kind is not spec.kind:
        values = list(view[key][:5])
        shown = rounded(values) if kind is Kind.FLOAT else [
            v[:32] if isinstance(v, bytes) else v for v in values]
        emit(F.WRONG_KIND.finding(
            f"{key} holds a {kind.value} where the OD API reads a {spec.kind.value}; parsing "
            "the record stops training",
            where.at(key), expected=spec.kind.value, actual=kind.value,
            values=shown,
            tensorflow=K.tf_kind_message(key, spec, kind)))
        return
    if spec.count is not None:
        count = len(view[key])
        if count != spec.count:
            what = "no value" if count == 0 else f"{count} values"
            emit(F.FIXED_LENGTH.finding(
                f"{key} holds {what}; the OD API parses exactly {spec.count}, so parsing the "
                "record stops training",
                where.at(key), expected=spec.count, actual=count,
                tensorflow=K.tf_count_message(key, spec, count)))


def _missing_image(view: FeatureView, where: RecordPlace, emit: Emit) -> None:
    kind = view.kind(K.IMAGE)
    if kind is None or kind is Kind.NONE:
        detail = "no image/encoded key" if kind is None else "image/encoded holds no list"
    elif kind is Kind.BYTES and n_values(view, K.IMAGE) and not od_record(view).image:
        detail = "image/encoded is an empty string"
    else:
        return
    others = [key for key in view.kinds if "image" in key.lower() and key != K.IMAGE
              and view.kinds[key] is Kind.BYTES and key not in K.decoder_keys()]
    hint = f"The record has {', '.join(others)}: is the image there?" if others else None
    emit(F.MISSING_IMAGE.finding(
        f"the record has no image: {detail}; decoding it stops training", where.at(K.IMAGE),
        hint=hint, tensorflow=F.MISSING_IMAGE.tf_message))


def _flag_keys_missing(view: FeatureView, ctx: CheckContext, where: RecordPlace,
                       emit: Emit) -> None:
    required, per_box = K.flag_requirements(ctx.flags)
    for key_spec in required:
        if view.kind(key_spec.key) in (None, Kind.NONE):
            emit(F.FLAG_WITHOUT_KEYS.finding(
                f"{key_spec.flag} is set, so the OD API requires {key_spec.key}, and this record "
                "has none: parsing it stops training", where.at(key_spec.key), flag=key_spec.flag,
                tensorflow=K.tf_required_message(key_spec.key, key_spec)))
    boxes = od_record(view).n_boxes if per_box else 0
    for group in per_box:
        if not boxes:
            return
        key = group.keys[0]
        if not n_values(view, key):
            emit(F.FLAG_WITHOUT_KEYS.finding(
                f"{group.setting} is set, but this record has {boxes} box(es) and no {key}: "
                "gathering them per box stops training", where.at(key), flag=group.flag,
                tensorflow=_PER_BOX_INDEX_ERROR))


# -- dataset level: flag keys, and schema drift ---------------------------------------------------

Place = tuple[str, int, int]
#: At most this many distinct schemas are kept per level (the rest are counted together).
_MAX_SIGNATURES = 32
_OTHER = (("(other schemas)", "none"),)


def _place(where: RecordPlace) -> Place:
    return (where.file, where.index, where.offset)


def _merge_table(left: dict, right: dict) -> dict:
    for key, (count, place) in right.items():
        entry = left.get(key)
        if entry is None:
            left[key] = [count, place]
        else:
            entry[0] += count
            entry[1] = min(entry[1], place)
    return left


def _at(place: Place, key: str | None = None) -> Location:
    return Location(file=place[0], record=place[1], offset=place[2], key=key)


class FeatureAggregator:
    """F005 (keys without their flag), dataset-wide F006, and F007 (schema drift)."""

    name = "features"

    def new(self) -> dict[str, dict]:
        return {"unflagged": {}, "flagged": {}, "image": {}, "object": {},
                # Per schema token and whether the records have boxes: the records not
                # folded into the tables yet (see :func:`_gather`).
                "gathered": {}}

    def add(self, state: dict[str, dict], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        key = (schema_token(view), bool(od_record(view).n_boxes))
        place = _place(where)
        entry = state["gathered"].get(key)
        if entry is None:
            _gather(state, key, place, view, ctx)
        else:
            entry[0] += 1
            if place < entry[1]:
                entry[1] = place

    def merge(self, left: dict[str, dict], right: dict[str, dict]) -> dict[str, dict]:
        _fold(left)
        _fold(right)
        for part in ("unflagged", "flagged"):
            _merge_table(left[part], right[part])
        for part in ("image", "object"):
            _merge_table(left[part], right[part])
            _cap(left[part])
        return left

    def finish(self, state: dict[str, dict], ctx: CheckContext) -> tuple[list[Finding], dict]:
        _fold(state)
        findings = list(_unflagged(state["unflagged"], ctx))
        findings += _unused_flags(state, ctx)
        findings += _drift(state["image"], "image-level")
        findings += _drift(state["object"], "box-level (records with boxes)")
        return findings, {}


Schema = tuple[tuple[str, str], ...]
#: At most this many schemas gather records before they are folded into the tables.
_MAX_GATHERED = 256


def _schema(view: FeatureView) -> tuple[Schema, Schema, tuple[str, ...]]:
    """The image-level and box-level (key, kind) schema of a record, and its flag groups."""
    image, boxes, groups = [], [], set()
    for key, kind in view.schema:
        group = K.FLAG_OF_KEY.get(key)
        if group is not None:
            groups.add(group.flag)
        (boxes if key.startswith("image/object/") else image).append((key, kind.value))
    return tuple(sorted(image)), tuple(sorted(boxes)), tuple(sorted(groups))


def _gather(state: dict[str, dict], key: tuple[str, bool], place: Place, view: FeatureView,
            ctx: CheckContext) -> None:
    """Start counting the records of a schema, with or without boxes (``key``), at ``place``.

    The entry holds what the tables need: ``[records, first place, image-level schema,
    box-level schema, (flag, whether the reader sets it)...]``.
    """
    gathered = state["gathered"]
    image, boxes, groups = from_schema(view, "feature-levels", _schema)
    gathered[key] = [1, place, image, boxes,
                     *((flag, K.flag_value(ctx.flags, flag)) for flag in groups)]
    if len(gathered) >= _MAX_GATHERED:
        _fold(state)


def _fold(state: dict[str, dict]) -> None:
    """Fold the records gathered per schema into the tables, in the order they came (so the
    capped tables keep the same schemas as when filled record by record)."""
    for (_, with_boxes), (count, place, image, boxes, *flags) in state["gathered"].items():
        for flag, active in flags:
            _merge_table(state["flagged" if active else "unflagged"], {flag: (count, place)})
        _signature(state["image"], image, count, place)
        if with_boxes:
            _signature(state["object"], boxes, count, place)
    state["gathered"] = {}


def _signature(table: dict, signature: Schema, count: int, place: Place) -> None:
    if signature not in table and len(table) >= _MAX_SIGNATURES:
        signature = _OTHER
    _merge_table(table, {signature: (count, place)})


def _cap(table: dict) -> None:
    """Keep at most ``_MAX_SIGNATURES`` schemas, folding the rarest into one entry."""
    if len(table) <= _MAX_SIGNATURES:
        return
    ranked = sorted((k for k in table if k != _OTHER), key=lambda k: (-table[k][0], k))
    count, place = table.pop(_OTHER, (0, None))
    for key in ranked[_MAX_SIGNATURES - 1:]:
        more, where = table.pop(key)
        count += more
        place = where if place is None else min(place, where)
    table[_OTHER] = [count, place]


def _unflagged(table: dict, ctx: CheckContext):
    known = flags_known(ctx)
    for group in K.FLAG_GROUPS:
        if group.flag not in table:
            continue
        count, place = table[group.flag]
        keys = ", ".join(group.keys)
        if known:
            message = (f"{count} record(s) carry {group.flag} keys ({keys}), but the input "
                       f"reader does not set `{group.setting}`: the OD API ignores them")
            yield F.KEYS_NEED_FLAG.finding(message, _at(place, group.keys[0]), records=count,
                                           flag=group.flag)
        else:
            message = (f"{count} record(s) carry {group.flag} keys ({keys}); the OD API reads "
                       f"them only with `{group.setting}` in the input reader")
            yield F.KEYS_NEED_FLAG.finding(message, _at(place, group.keys[0]),
                                           severity=Severity.INFO, records=count, flag=group.flag)


def _unused_flags(state: dict[str, dict], ctx: CheckContext) -> list[Finding]:
    records = sum(count for count, _ in state["image"].values())
    spec = K.decoder_keys(ctx.flags)
    findings = []
    for group in K.FLAG_GROUPS:
        required = any(spec[key].required for key in group.keys if key in spec)
        if (not records or group.needed_per_box or required
                or not K.flag_value(ctx.flags, group.flag) or group.flag in state["flagged"]):
            continue
        findings.append(F.FLAG_WITHOUT_KEYS.finding(
            f"`{group.setting}` is set, but none of the {records} records has "
            f"{', '.join(group.keys)}: the OD API fills in defaults and the flag does nothing",
            Location(key=group.keys[0]), severity=Severity.WARNING, flag=group.flag))
    return findings


def _drift(table: dict, level: str) -> list[Finding]:
    if len(table) < 2:
        return []
    majority = min(table, key=lambda k: (-table[k][0], k))
    usual = dict(majority)
    total = sum(count for count, _ in table.values())
    findings = []
    for signature, (count, place) in sorted(table.items(), key=lambda kv: kv[1][1]):
        if signature == majority:
            continue
        differences = _differences(usual, dict(signature))
        findings.append(F.SCHEMA_DRIFT.finding(
            f"{count} of {total} records have other {level} keys than the rest "
            f"({'; '.join(differences)}); this is the first of them",
            _at(place), records=count, usual_records=table[majority][0],
            differences=differences))
    return findings


def _differences(usual: dict[str, str], other: dict[str, str]) -> list[str]:
    if _OTHER[0][0] in other:
        return ["many different schemas"]
    out = []
    missing = sorted(set(usual) - set(other))
    extra = sorted(set(other) - set(usual))
    if missing:
        out.append("without " + ", ".join(missing))
    if extra:
        out.append("with " + ", ".join(extra))
    for key in sorted(set(usual) & set(other)):
        if usual[key] != other[key]:
            out.append(f"{key} as {other[key]} instead of {usual[key]}")
    return out


aggregator(FeatureAggregator())


# -- keys well-known writers add on purpose -------------------------------------------------------


def _producer_keys(view: FeatureView) -> tuple[str, ...]:
    return tuple(key for key in view.kinds if key not in K.KINDS_OF_KEY
                 and key not in K.KNOWN_UNUSED and producer_of(key) is not None)


class ProducerExtras:
    """F002 (information) once per writer for the keys it adds on purpose (KITTI's ``alpha`` and
    3D boxes, TFDS's and the Model Garden's extras), not once per record and key."""

    name = "producer-extras"

    def new(self) -> dict[str, list]:
        return {}

    def add(self, state: dict[str, list], view: FeatureView, where: RecordPlace,
            ctx: CheckContext) -> None:
        keys = from_schema(view, "producer-keys", _producer_keys)
        if keys:
            _merge_table(state, {key: (1, _place(where)) for key in keys})

    def merge(self, left: dict[str, list], right: dict[str, list]) -> dict[str, list]:
        return _merge_table(left, right)

    def finish(self, state: dict[str, list], ctx: CheckContext) -> tuple[list[Finding], dict]:
        by_writer: dict[str, list[str]] = {}
        for key in sorted(state):
            by_writer.setdefault(producer_of(key).writer, []).append(key)  # type: ignore[union-attr]
        findings = []
        for writer, keys in by_writer.items():
            records = max(state[key][0] for key in keys)
            place = min(state[key][1] for key in keys)
            holds = sorted({producer_of(key).holds for key in keys})  # type: ignore[union-attr]
            findings.append(F.UNKNOWN_KEY.finding(
                f"{records} record(s) carry {len(keys)} key(s) written on purpose by {writer} "
                f"({'; '.join(holds)}): {', '.join(keys)}. The OD API does not read them; "
                "nothing is lost", _at(place, keys[0]), severity=Severity.INFO,
                hint="nothing to do: the keys are extras the OD API ignores by design",
                producer=writer, keys=keys, records=records))
        return findings, {}


aggregator(ProducerExtras())
