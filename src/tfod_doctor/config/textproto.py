"""A protobuf text-format reader that keeps the line and column of every field and value.

It reads the syntax only (no schema): blocks of ``name: value`` / ``name { ... }`` entries, as
``text_format.Merge`` tokenizes them (``#`` comments, ``;``/``,`` separators, ``<...>`` blocks,
``[...]`` lists, adjacent strings joined). On a syntax error it notes the first one, with the same
line and column protobuf's own ``ParseError`` names, skips to the next line and reads on, so the
rest of the file can still be checked. Lines and columns are 1-based.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"[a-zA-Z_][0-9a-zA-Z_+-]*"  # an identifier
    r"|([0-9+-]|(\.[0-9]))[0-9a-zA-Z_.+-]*"  # a number
    r"|\"[^\"\n\\]*((\\.)+[^\"\n\\]*)*(\"|\\?$)"  # a double-quoted string
    r"|'[^'\n\\]*((\\.)+[^'\n\\]*)*('|\\?$)"  # a single-quoted string
)
_SPACE = re.compile(r"(\s|#.*$)+", re.MULTILINE)
#: Quote marks that word processors and chat apps put in place of ``"`` and ``'``.
SMART_QUOTES = "‘’‚‛“”„‟′″«»"
#: How deep blocks may nest. No OD API config or label map nests more than about ten levels;
#: deeper text is read as one skipped block (a syntax error), so that reading it, and every walk
#: of the tree after, stays far from Python's recursion limit.
MAX_DEPTH = 100
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"', "?": "?"}


@dataclass(frozen=True, slots=True)
class Pos:
    """A place in the text: 1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``ident``, ``number``, ``string``, ``symbol`` or ``eof``."""

    kind: str
    text: str
    pos: Pos


@dataclass(slots=True)
class Scalar:
    """A value that is not a block: a string (decoded), a number or an identifier (raw text)."""

    kind: str
    text: str
    pos: Pos
    #: The token(s) as written, for messages (``'data'``, ``2.5``, ``V3``).
    raw: str
    #: Just after the value's last token (adjacent strings may span lines).
    end: Pos | None = None


@dataclass(slots=True)
class Block:
    """``{ ... }`` or ``< ... >``: the entries in the order written."""

    entries: list[Entry] = field(default_factory=list)
    pos: Pos = Pos(1, 1)
    #: Where the closing brace is (``None`` when the text ended first).
    end: Pos | None = None


@dataclass(slots=True)
class Entry:
    """One ``name: value`` or ``name { ... }``; a ``[...]`` list gives one entry per item."""

    name: str
    pos: Pos
    value: Scalar | Block
    #: Whether a ``:`` separated name and value (required before a scalar).
    colon: bool = True
    #: Just after the entry's last token (for an item of a ``[...]`` list: after the ``]``).
    end: Pos | None = None
    #: Whether the value is one item of a ``[...]`` list.
    listed: bool = False


@dataclass(frozen=True, slots=True)
class SyntaxIssue:
    """A syntax error: what protobuf expected and what it found, where, and why it happens."""

    message: str
    pos: Pos
    found: str
    hint: str = ""


@dataclass
class ParsedText:
    """The syntax tree of a text-format file and its syntax errors (the first one is TF's)."""

    root: Block
    lines: list[str]
    issues: list[SyntaxIssue] = field(default_factory=list)

    def line_text(self, line: int) -> str:
        """The source line (1-based), without its newline; empty past the end."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""


class _Stop(Exception):
    def __init__(self, issue: SyntaxIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


class _Tokens:
    """The token stream, with positions as protobuf's tokenizer counts them."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.tokens = list(self._scan())
        self.index = 0

    def _scan(self):
        last_pos = Pos(1, 1)
        for number, line in enumerate(self.lines, start=1):
            column = 0
            while column < len(line):
                space = _SPACE.match(line, column)
                if space:
                    column = space.end()
                    continue
                match = _TOKEN.match(line, column)
                text = match.group(0) if match else line[column]
                last_pos = Pos(number, column + 1)
                yield Token(_kind(text), text, last_pos)
                column += len(text)
        # protobuf names the last token's place when the text ends early; so do we.
        yield Token("eof", "", last_pos)

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.current
        if token.kind != "eof":
            self.index += 1
        return token

    def end_of_previous(self) -> Pos:
        """Just after the last token read."""
        token = self.tokens[max(self.index - 1, 0)]
        return Pos(token.pos.line, token.pos.column + len(token.text))

    def at(self, *symbols: str) -> bool:
        return self.current.kind == "symbol" and self.current.text in symbols

    def skip_line(self) -> None:
        """Skip the rest of the current token's line (error recovery)."""
        line = self.current.pos.line
        while self.current.kind != "eof" and self.current.pos.line == line:
            self.index += 1


def _kind(text: str) -> str:
    first = text[0]
    if first.isalpha() or first == "_":
        return "ident"
    if first.isdigit() or first in "+-" or (first == "." and len(text) > 1):
        return "number"
    if first in "\"'" and len(text) >= 2 and text[-1] == first and not text.endswith("\\" + first):
        return "string"
    if first in "\"'":
        return "badstring"
    return "symbol"


def _unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 >= len(body):
            out.append(char)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xX":
            digits = re.match(r"[0-9a-fA-F]{1,2}", body[i + 2:])
            out.append(chr(int(digits.group(0), 16)) if digits else nxt)
            i += 2 + (len(digits.group(0)) if digits else 0)
        elif nxt.isdigit():
            digits = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(chr(int(digits.group(0), 8)) if digits else nxt)
            i += 1 + (len(digits.group(0)) if digits else 1)
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _describe(token: Token) -> str:
    return "end of file" if token.kind == "eof" else repr(token.text)


def _smart_quote_hint(token: Token) -> str:
    if token.text and token.text[0] in SMART_QUOTES:
        return (f"{token.text[0]} is a typographic quote (pasted from a document or web page); "
                'text format needs a straight " or \'')
    return ""


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _Tokens(text)
        self.issues: list[SyntaxIssue] = []
        #: How many blocks are open where the parser is.
        self.depth = 0

    def fail(self, message: str, token: Token | None = None, hint: str = "") -> _Stop:
        token = token or self.tokens.current
        return _Stop(SyntaxIssue(message, token.pos, token.text,
                                 hint or _smart_quote_hint(token)))

    def parse(self) -> Block:
        root = Block(pos=Pos(1, 1))
        self.entries(root, closer=None)
        return root

    def entries(self, block: Block, closer: str | None) -> None:
        """Read entries into ``block`` up to ``closer`` (or the end), recovering per line."""
        tokens = self.tokens
        while True:
            if closer is not None and tokens.at(closer):
                block.end = tokens.advance().pos
                return
            if tokens.current.kind == "eof":
                if closer is not None:
                    self.issues.append(SyntaxIssue(
                        f'Expected "{closer}".', tokens.current.pos, "",
                        f"the block opened at line {block.pos.line} is never closed: a "
                        f"closing {closer} is missing",
                    ))
                return
            try:
                self.entry(block)
            except _Stop as stop:
                self.issues.append(stop.issue)
                tokens.skip_line()

    def entry(self, block: Block) -> None:
        tokens = self.tokens
        name_token = tokens.current
        if name_token.kind != "ident":
            if tokens.at("}", ">"):
                raise self.fail(f'Expected identifier or number, got {name_token.text}.',
                                hint=f"a {name_token.text} closes a block that is not open: "
                                     "one closing brace too many, or an opening one missing")
            raise self.fail(f"Expected identifier or number, got {name_token.text}.")
        tokens.advance()
        colon = False
        if tokens.at(":"):
            tokens.advance()
            colon = True
        if tokens.at("["):
            self.list_value(block, name_token, colon)
        else:
            value = self.value()
            block.entries.append(Entry(name_token.text, name_token.pos, value, colon,
                                       tokens.end_of_previous()))
        if tokens.at(";", ","):
            tokens.advance()

    def list_value(self, block: Block, name_token: Token, colon: bool) -> None:
        tokens = self.tokens
        tokens.advance()
        if tokens.at("]"):
            tokens.advance()
            return
        items = []
        while True:
            items.append(Entry(name_token.text, name_token.pos, self.value(), colon, listed=True))
            block.entries.append(items[-1])
            if tokens.at("]"):
                tokens.advance()
                for item in items:
                    item.end = tokens.end_of_previous()
                return
            if not tokens.at(","):
                raise self.fail(f'Expected "]", found {_describe(tokens.current)}.')
            tokens.advance()

    def value(self) -> Scalar | Block:
        tokens = self.tokens
        token = tokens.current
        if tokens.at("{", "<"):
            if self.depth >= MAX_DEPTH:
                return self.too_deep(token)
            tokens.advance()
            block = Block(pos=token.pos)
            self.depth += 1
            try:
                self.entries(block, "}" if token.text == "{" else ">")
            finally:
                self.depth -= 1
            return block
        if token.kind in ("ident", "number"):
            tokens.advance()
            return Scalar(token.kind, token.text, token.pos, token.text, tokens.end_of_previous())
        if token.kind == "string":
            parts, raws = [], []
            while tokens.current.kind == "string":
                raw = tokens.advance().text
                raws.append(raw)
                parts.append(_unescape(raw[1:-1]))
            return Scalar("string", "".join(parts), token.pos, " ".join(raws),
                          tokens.end_of_previous())
        if token.kind == "badstring":
            raise self.fail("String missing ending quote: " + token.text + ".",
                            hint="the closing quote is missing (or a backslash escapes it)")
        raise self.fail(f"Expected a value, found {_describe(token)}.")


    def too_deep(self, opener: Token) -> Block:
        """Note a block nested deeper than :data:`MAX_DEPTH` and skip it whole (without
        recursion): it is read as an empty block."""
        self.issues.append(SyntaxIssue(
            f"Blocks nested more than {MAX_DEPTH} levels deep.", opener.pos, opener.text,
            f"tfod-doctor reads blocks up to {MAX_DEPTH} levels deep, and no pipeline.config or "
            "label map nests more than about ten: the block from here on is skipped (is this "
            "file what it should be?)",
        ))
        tokens, depth = self.tokens, 0
        while tokens.current.kind != "eof":
            token = tokens.advance()
            if token.kind == "symbol" and token.text in "{<":
                depth += 1
            elif token.kind == "symbol" and token.text in "}>":
                depth -= 1
                if depth == 0:
                    return Block(pos=opener.pos, end=token.pos)
        return Block(pos=opener.pos)


def parse_text(text: str) -> ParsedText:
    """Read a text-format file into a syntax tree; syntax errors are collected, never raised."""
    parser = _Parser(text)
    root = parser.parse()
    return ParsedText(root, parser.tokens.lines, parser.issues)
