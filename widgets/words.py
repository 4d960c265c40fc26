"""Counted words in the window's text: "1 node", "2 nodes", never "1 nodes"."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """The count and the word, plural unless the count is one ('1 node', '1,200 nodes')."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"
