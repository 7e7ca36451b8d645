"""From a message, a traceback or a whole log to the entry of :data:`KNOWN` that explains it.

The last traceback is the error that stopped the run: a message in it wins over earlier ones.
Among the messages of one traceback the most specific wins (``priority``), then the last. An
entry with selectors (frames, the raising function, the exception type) applies only when the
traceback shows them, so one message with several causes gets the one its traceback tells.
Warnings that matter (``note`` entries) are reported too, wherever they are in the log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tfod_doctor import catalogue
from tfod_doctor.explain.log import Around, Log
from tfod_doctor.explain.messages import CHECK, KNOWN, Known

if TYPE_CHECKING:
    from tfod_doctor.explain.confirm import Confirmation

_CONFIG = re.compile(r"(?<![^\s'\"()=])([^\s'\"()=]{1,400}\.config)\b")
_PIPELINE_FLAG = re.compile(r"--pipeline_config_path[= ]+['\"]?([^\s'\"]{1,400})")
_RECORDS = re.compile(
    r"(?<![^\s'\"\[\](),])([^\s'\"\[\](),]{1,400}\.(?:tfrecords?|records?|tfrec)"
    r"(?:-\d+-of-\d+)?)\b")
_LABEL_MAP = re.compile(r"(?<![^\s'\"\[\](),])([^\s'\"\[\](),]{1,400}\.pbtxt)\b")


@dataclass
class RuleRef:
    """A rule named by an explanation, as the catalogue knows it (or not yet)."""

    id: str
    name: str | None
    severity: str | None
    summary: str | None

    @property
    def known(self) -> bool:
        """Whether the rule is in this version's catalogue."""
        return self.name is not None


@dataclass
class Note:
    """A warning earlier in the log that matters beside the error that stopped the run."""

    name: str
    matched: str
    cause: str
    rules: list[RuleRef]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"message": self.name, "matched": self.matched, "cause": self.cause,
                "rules": [rule.id for rule in self.rules]}


@dataclass
class Explanation:
    """What a message means: the matched text, causes, rules, advice and the next command."""

    name: str
    matched: str
    causes: list[str]
    rules: list[RuleRef]
    advice: str
    next_command: str
    values: dict[str, str] = field(default_factory=dict)
    #: ``False``: the error is not about the config, label map or records.
    about_files: bool = True
    exception: str | None = None
    raised_in: str | None = None
    notes: list[Note] = field(default_factory=list)
    #: What the user's files show, when they were checked (``explain --config``).
    confirmation: Confirmation | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``explain --format json``."""
        return {
            "recognised": True,
            "message": self.name,
            "matched": self.matched,
            "about_files": self.about_files,
            "exception": self.exception,
            "raised_in": self.raised_in,
            "causes": self.causes,
            "rules": [vars(rule) | {"known": rule.known} for rule in self.rules],
            "advice": self.advice,
            "next": self.next_command,
            "values": self.values,
            "notes": [note.to_dict() for note in self.notes],
            "confirmation": self.confirmation.to_dict() if self.confirmation else None,
        }


def rule_ref(rule_id: str) -> RuleRef:
    """A rule reference; rules missing from the catalogue are kept and marked unknown."""
    try:
        rule = catalogue.get(rule_id)
    except KeyError:
        return RuleRef(rule_id, None, None, None)
    return RuleRef(rule.id, rule.name, rule.severity.label, rule.summary)


#: How many matches of one pattern, from the last one back, are tried against the selectors.
_TRIES = 20


@dataclass(frozen=True)
class _Candidate:
    known: Known
    match: re.Match[str]

    @property
    def key(self) -> tuple[int, int]:
        return self.known.priority, self.match.start()


def explain(text: str, *, config: str | None = None) -> Explanation | None:
    """The explanation of the error that stopped the run in ``text``, or ``None``.

    ``config``: the user's pipeline.config, for the next command (else the one the log names).
    """
    log = Log.parse(text)
    candidates = list(_candidates(text, log))
    best = _best(candidates, log)
    if best is None:
        return None
    found = _explanation(text, best, log.around(best.match.start()), config)
    seen = {best.known.name}
    for candidate in sorted(candidates, key=lambda c: c.match.start()):
        if candidate.known.note and candidate.known.name not in seen:
            seen.add(candidate.known.name)
            found.notes.append(Note(candidate.known.name, _line_around(text, candidate.match),
                                    candidate.known.causes[0],
                                    [rule_ref(r) for r in candidate.known.rules]))
    return found


def _candidates(text: str, log: Log) -> Iterator[_Candidate]:
    """Per entry, its last match in the error that stopped the run and its last match anywhere,
    among those its selectors accept. Only the last few matches are tried: the last one wins
    among equals, and a long log stays linear."""
    final = log.last_error()
    for known in KNOWN:
        if known.context and not re.search(known.context, text, re.I):
            continue
        matches = [m for pattern in known.patterns for m in re.finditer(pattern, text, re.S)]
        matches.sort(key=lambda m: m.start(), reverse=True)
        wanted = {"any", "final"} if final else {"any"}
        for match in matches[:_TRIES]:
            if not _selects(known, log, match.start()):
                continue
            inside = final is not None and final[0] <= match.start() < final[1]
            kinds = {"any", "final"} if inside else {"any"}
            if kinds & wanted:
                yield _Candidate(known, match)
                wanted -= kinds
            if not wanted:
                break


def _selects(known: Known, log: Log, position: int) -> bool:
    if not known.selective:
        return True
    around = log.around(position)
    if known.frames and not re.search(known.frames, around.where):
        return False
    if known.raised_in and (around.innermost is None
                            or not re.search(known.raised_in, str(around.innermost))):
        return False
    return not known.exc_type or bool(around.exc_type
                                       and re.fullmatch(known.exc_type, around.exc_type))


def _best(candidates: list[_Candidate], log: Log) -> _Candidate | None:
    errors = [c for c in candidates if not c.known.note]
    last = log.last_error()
    if last is not None:
        final = [c for c in errors if last[0] <= c.match.start() < last[1]]
        errors = final or errors
    pool = errors or candidates
    return max(pool, key=lambda c: c.key) if pool else None


def _explanation(text: str, best: _Candidate, around: Around,
                 config: str | None) -> Explanation:
    known, match = best.known, best.match
    values = {k: v for k, v in match.groupdict().items() if v is not None}
    rules = list(known.rules)
    advice = known.advice
    if {"message", "field"} <= values.keys() and _schema_knows(values["message"],
                                                               values["field"]):
        rules = ["C007", "C002"]
        advice += (" The OD API that tfod-doctor knows has this field, so the installed "
                   "object_detection package is older than the config: upgrade it and "
                   "recompile its protos.")
    filled = dict(values)
    if "offset" in values:
        filled["offset_12"] = str(max(0, int(values["offset"]) - 12))
    filled.update(places(text))
    if config is not None:
        filled["config"] = config
    return Explanation(
        name=known.name,
        matched=_line_around(text, match),
        causes=list(known.causes),
        rules=[rule_ref(rule_id) for rule_id in rules],
        advice=_fill(advice, filled),
        next_command=_fill(known.next, filled),
        values=values,
        about_files=known.about_files,
        exception=around.exc_type,
        raised_in=str(around.innermost) if around.innermost else None,
    )


def _fill(template: str, values: dict[str, str]) -> str:
    class _Missing(dict):
        def __missing__(self, key: str) -> str:
            return "{" + key + "}"

    return template.format_map(_Missing(values))


def config_in_log(text: str) -> str | None:
    """The pipeline.config a log's command line names (``--pipeline_config_path=...``)."""
    found = _PIPELINE_FLAG.findall(text)
    return found[-1] if found else None


def places(text: str) -> dict[str, str]:
    """The config, record files and label map a log names, for the next command."""
    configs = _CONFIG.findall(text)
    flagged = config_in_log(text)
    records = list(dict.fromkeys(_RECORDS.findall(text)))
    label_maps = _LABEL_MAP.findall(text)
    return {
        "config": flagged or (configs[-1] if configs else "path/to/pipeline.config"),
        "records": " ".join(records[:3]) if records else "'path/to/*.tfrecord'",
        "label_map": label_maps[-1] if label_maps else "path/to/label_map.pbtxt",
    }


def _schema_knows(message: str, field_name: str) -> bool:
    from tfod_doctor.config import schema

    name = message.removeprefix("object_detection.protos.")
    try:
        return field_name in schema.message(name).fields
    except KeyError:
        return False


def _line_around(text: str, match: re.Match[str]) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start:end if end >= 0 else len(text)].strip()
    return line if len(line) <= 500 else match.group(0)[:500]


def not_recognised_command(text: str) -> str:
    """The generic command for a message that is not recognised."""
    return _fill(CHECK, places(text))
