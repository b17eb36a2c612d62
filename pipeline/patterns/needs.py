"""What a message must contain for a compiled pattern to be able to match it.

A pattern's *needs* are a conjunction of clauses, each clause a set of
literal texts of which at least one must occur in the message text. They are
computed once, when the pattern is compiled, and never decide a match: a
message holding them may still not match, but a message lacking them never
does, so checking them first only skips work that would have answered "no".
That one-sidedness is what every rule here must keep. ``()`` needs nothing,
which is the honest answer for what presence cannot show (``-term``, ``!=``,
``NOT EXISTS``, numbers that have many spellings, regular expressions).

Texts read from a JSON string (keys and string values) are *escapable*: JSON
may spell any character as ``\\uXXXX`` and ``/`` as ``\\/``, so such a text is
only required of messages that hold neither escape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "NOTHING",
    "Atom",
    "Clause",
    "Needs",
    "all_of",
    "any_of",
    "by_selectivity",
    "has_json_escape",
    "literal",
]

AtomKind = Literal["text", "text-start", "text-end", "json-key", "json-value", "json-structure"]


@dataclass(frozen=True, slots=True)
class Atom:
    """One literal text a clause may be satisfied by.

    ``kind`` says where it must be (anywhere; ``text-start``/``text-end``: the
    message starts/ends with it), whether JSON may spell it otherwise, and how
    rare it is likely to be.
    """

    text: str
    kind: AtomKind = "text"

    def found_in(self, text: str) -> bool:
        """Whether ``text`` holds this atom (escapes aside: see :func:`has_json_escape`)."""
        if self.kind == "text-start":
            return text.startswith(self.text)
        if self.kind == "text-end":
            return text.endswith(self.text)
        return self.text in text

    @property
    def escapable(self) -> bool:
        return self.kind == "json-key" or self.kind == "json-value"

    @property
    def weight(self) -> float:
        """A guess at how rarely the text occurs: longer is rarer; keys recur, braces always."""
        if self.kind == "json-structure":
            return 0.1
        if self.kind == "text-start" or self.kind == "text-end":
            return len(self.text) + 1.0  # as rare as the text with a boundary beside it
        if self.kind == "json-key":
            return len(self.text) / 2
        return float(len(self.text))


Clause = frozenset[Atom]
Needs = tuple[Clause, ...]
NOTHING: Needs = ()


def literal(text: str, kind: AtomKind = "text") -> Needs:
    """The message must contain ``text`` (the empty text is in every message: nothing)."""
    return (frozenset((Atom(text, kind),)),) if text else NOTHING


def all_of(*parts: Needs) -> Needs:
    """Every part is needed: their clauses together, each once."""
    seen: dict[Clause, None] = {}
    for part in parts:
        for clause in part:
            seen[clause] = None
    return tuple(seen)


def any_of(*parts: Needs) -> Needs:
    """One of the parts is enough: one clause holding the strongest clause of each.

    Weaker than the exact disjunction (which would need a clause per combination),
    but sound: whichever part holds, its strongest clause does, so the union does.
    A part that needs nothing makes the whole need nothing.
    """
    if not parts or any(not part for part in parts):
        return NOTHING
    if len(parts) == 1:
        return parts[0]
    return (frozenset().union(*(by_selectivity(part)[0] for part in parts)),)


def by_selectivity(needs: Needs) -> list[Clause]:
    """Clauses, the likeliest to rule a message out first (rare texts, few alternatives)."""
    return sorted(needs, key=_selectivity, reverse=True)


def _selectivity(clause: Clause) -> tuple[float, str]:
    weakest = min(atom.weight for atom in clause)
    # the text breaks ties, so the order (and any choice made from it) is reproducible
    return weakest / len(clause), min(atom.text for atom in clause)


def has_json_escape(text: str) -> bool:
    """Whether a JSON text may spell a key or string value differently from its characters."""
    return "\\" in text and ("\\u" in text or "\\/" in text)
