"""A label map as the decoder uses it: names and display names to ids, ids to names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tfod_doctor.odapi.suggest import NameIndex


@dataclass(frozen=True)
class LabelTable:
    """A label map reduced to what the decoder uses: name/display name -> id, and id -> name."""

    names: dict[str, int] = field(default_factory=dict)
    display_names: dict[str, int] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    #: Where it came from, for messages.
    path: str | None = None
    #: ``class/text`` bytes -> id, filled as records are read (names repeat in every record).
    _by_bytes: dict[bytes, int] = field(default_factory=dict, compare=False, repr=False)
    #: The index of names and display names for near misses, built when first needed.
    _index: list[NameIndex] = field(default_factory=list, compare=False, repr=False)
    #: Unknown name -> its near misses, worked out once per distinct name.
    _near: dict[str, list[str]] = field(default_factory=dict, compare=False, repr=False)

    def lookup(self, text: str) -> int:
        """The id the OD API decoder gives a ``class/text`` value: -1 when unknown.

        The decoder looks the text up in both tables and takes the larger id.
        """
        return max(self.names.get(text, -1), self.display_names.get(text, -1))

    def lookup_all(self, texts: Sequence[bytes]) -> list[int]:
        """:meth:`lookup_bytes` of every value, in order (in C once every name was seen)."""
        ids = list(map(self._by_bytes.get, texts))
        if None in ids:  # a name not looked up before
            ids = list(map(self.lookup_bytes, texts))
        return ids

    def lookup_bytes(self, text: bytes) -> int:
        """:meth:`lookup` of a ``class/text`` value as the record holds it (UTF-8 bytes)."""
        found = self._by_bytes.get(text)
        if found is None:
            found = self._by_bytes[text] = self.lookup(text.decode("utf-8", "replace"))
        return found

    def _names_index(self) -> NameIndex:
        if not self._index:
            self._index.append(NameIndex([*self.names, *self.display_names]))
        return self._index[0]

    def near_misses(self, text: str) -> list[str]:
        """The names and display names ``text`` was probably meant to be (case, spaces,
        plural, typos), worked out once per distinct text."""
        found = self._near.get(text)
        if found is None:
            found = self._near[text] = self._names_index().suggest(text)
        return found

    def respelled(self, text: str) -> str | None:
        """The one name or display name ``text`` is another spelling of (case, spaces,
        plural), or ``None``."""
        found = self._names_index().same(text)
        return found[0] if len(found) == 1 else None
