"""A pasted log read as Python tracebacks: where each starts and ends, its frames (file,
function, code), the exception type, and which tracebacks are chained into one error.

Users paste tracebacks as Python prints them, as Jupyter prints them, or flattened onto one line;
every pattern here is bounded so that a huge single line is read in linear time.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_START = re.compile(r"Traceback \(most recent call last\)")
_CHAINED = re.compile(r"During handling of the above exception, another exception occurred|"
                      r"The above exception was the direct cause of the following exception")
_FRAME = re.compile(
    r"File \"(?P<file>[^\"\n]{1,400})\", line (?P<line>\d+), in (?P<func>[\w<>.]{1,200})"
    r"(?P<code>[^\n]{0,300}?)(?=\s{0,40}File \"|\n|$)"
    r"|(?<![\w./\\~-])(?P<jfile>[\w./\\~-]{1,400}\.py) in (?P<jfunc>[\w<>.]{1,200})\(")
_CODE = re.compile(r"\n[ \t]+(?!File \")([^\n]{1,300})")
_NODE = re.compile(r"\{\{node (?P<node>[^}\n]{1,300})\}\}"
                   r"|Detected at node '?(?P<node2>[^'\s]{1,300})"
                   r"|\[\[Node: (?P<node3>[^\s=\]]{1,300})")
_EXCEPTION = re.compile(r"(?:\b|(?<=[a-z]))(?P<type>[A-Z]\w{0,80}(?:Error|Exception|Exit))"
                        r"(?=:| \(see above| {2,}Traceback|\s*$)", re.M)
#: How far before a traceback a chaining sentence may stand.
_CHAIN_WINDOW = 300
#: Outside every traceback, how far back frames are looked for (a pasted piece of one).
_LOOK_BACK = 20_000


@dataclass(frozen=True)
class Frame:
    """One frame of a traceback: file, function and the line of code, as printed."""

    file: str
    function: str
    code: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.function}"
        return f"{where}: {self.code}" if self.code else where


@dataclass(frozen=True)
class Traceback:
    """One ``Traceback (most recent call last)`` and its text up to the next one."""

    start: int
    end: int
    #: The frames before the exception line, outermost first.
    frames: tuple[Frame, ...]
    #: The exception's class name (``InvalidArgumentError``), without its module.
    exc_type: str | None
    #: Index of the first traceback of the chain this one ends or belongs to.
    chain: int

    @property
    def innermost(self) -> Frame | None:
        """The frame where the exception was raised (as far as the paste shows)."""
        return self.frames[-1] if self.frames else None


@dataclass
class Log:
    """A log with its tracebacks; text outside every traceback has none."""

    text: str
    tracebacks: list[Traceback]
    _starts: list[int] = field(default_factory=list, repr=False)
    _chains: dict[int, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._starts = [tb.start for tb in self.tracebacks]

    @classmethod
    def parse(cls, text: str) -> Log:
        """Find the tracebacks of ``text``."""
        starts = [m.start() for m in _START.finditer(text)]
        tracebacks: list[Traceback] = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else len(text)
            chained = i > 0 and _CHAINED.search(text, max(starts[i - 1], start - _CHAIN_WINDOW),
                                                start) is not None
            chain = tracebacks[-1].chain if chained else i
            tracebacks.append(_traceback(text, start, end, chain))
        return cls(text, tracebacks)

    def at(self, position: int) -> Traceback | None:
        """The traceback whose text holds ``position``, if any."""
        index = bisect.bisect_right(self._starts, position) - 1
        return self.tracebacks[index] if index >= 0 else None

    def last_error(self) -> tuple[int, int] | None:
        """Where the chain of the last traceback starts and ends: the error that stopped the
        run."""
        if not self.tracebacks:
            return None
        last = self.tracebacks[-1]
        return self.tracebacks[last.chain].start, last.end

    def around(self, position: int) -> Around:
        """What the traceback holding ``position`` shows (or, outside every traceback, what the
        text before it and its own line show)."""
        traceback = self.at(position)
        if traceback is not None:
            if traceback.chain not in self._chains:
                chain = [tb for tb in self.tracebacks if tb.chain == traceback.chain]
                self._chains[traceback.chain] = self._where(chain[0].start, chain[-1].end)
            return Around(self._chains[traceback.chain], traceback.innermost,
                          traceback.exc_type)
        line_start = self.text.rfind("\n", 0, position) + 1
        line_end = self.text.find("\n", position)
        line_end = len(self.text) if line_end < 0 else line_end
        window = max(0, position - _LOOK_BACK)
        before = [_frame(self.text, m, line_end)
                  for m in _FRAME.finditer(self.text, window, position)]
        found = _EXCEPTION.search(self.text, line_start, min(line_end, line_start + _LOOK_BACK))
        return Around(self._where(window, min(line_end, position + _LOOK_BACK)),
                      before[-1] if before else None, found["type"] if found else None)

    def _where(self, start: int, end: int) -> str:
        lines = [str(_frame(self.text, match, end))
                 for match in _FRAME.finditer(self.text, start, end)]
        lines += ["node " + (match["node"] or match["node2"] or match["node3"])
                  for match in _NODE.finditer(self.text, start, end)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Around:
    """What selects between the causes of one message: the frames and graph nodes of its
    traceback (one a line), the frame that raised it, and the exception type."""

    where: str
    innermost: Frame | None
    exc_type: str | None


def _traceback(text: str, start: int, end: int, chain: int) -> Traceback:
    frames: list[Frame] = []
    exc_type = None
    position = start
    for match in _FRAME.finditer(text, start, end):
        between = _EXCEPTION.search(text, position, match.start())
        if between is not None and frames:
            exc_type = between["type"]
            break
        frames.append(_frame(text, match, end))
        position = match.end()
    if exc_type is None:
        found = _EXCEPTION.search(text, position, end)
        exc_type = found["type"] if found else None
    return Traceback(start, end, tuple(frames), exc_type, chain)


def _frame(text: str, match: re.Match[str], end: int) -> Frame:
    if match["jfile"]:
        return Frame(match["jfile"], match["jfunc"])
    code = match["code"].strip()
    if not code:
        following = _CODE.match(text, match.end(), end)
        code = following.group(1).strip() if following else ""
    return Frame(match["file"], match["func"], code)
