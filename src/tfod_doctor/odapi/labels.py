"""A label map as the decoder uses it: names and display names to ids, ids to names."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class LabelTable:
    """A label map reduced to what the decoder uses: name/display name -> id, and id -> name."""

    names: dict[str, int] = field(default_factory=dict)
    display_names: dict[str, int] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    #: Where it came from, for messages.
    path: str | None = None

    def lookup(self, text: str) -> int:
        """The id the OD API decoder gives a ``class/text`` value: -1 when unknown.

        The decoder looks the text up in both tables and takes the larger id.
        """
        return max(self.names.get(text, -1), self.display_names.get(text, -1))
