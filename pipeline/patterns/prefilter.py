"""Deciding cheaply which of many filter patterns can possibly match a message.

A route or account with a hundred metric filters would otherwise run a hundred
patterns on every event, although most need a text the event lacks (``ERROR``,
``"level"``, a service name). Each compiled pattern states those texts (its
``needs``, :mod:`pipeline.patterns.needs`); here they become

* :func:`may_match`, one pattern's own check, a few substring tests that run
  before the pattern's real work (a JSON parse, a field split and binding);
* :class:`PatternIndex`, for many patterns at once: every distinct text goes
  into one RE2 set, one pass over the message finds which texts occur, and the
  patterns whose every clause is met are the candidates. The answer depends
  only on which texts occurred, so it is cached by that set.

Both are sound by construction: a pattern is left out only when a text it
needs is absent, so the candidates hold every pattern that matches; a
candidate may still fail its own ``match``, which the caller runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import re2

from pipeline.patterns.needs import Atom, Clause, Needs, by_selectivity, has_json_escape

__all__ = ["PatternIndex", "may_match"]

T = TypeVar("T")

#: distinct sets of occurring texts remembered per index; a real stream shows a few dozen
CACHE_SIZE = 4096
# RE2 gives a set's automaton two thirds of this; literal sets need far less, but running
# out would make a pass fail, which costs a fallback to every pattern (never a wrong answer).
_MAX_MEMORY = 64 << 20


def may_match(needs: Needs) -> Callable[[str], bool] | None:
    """A test that is False only for texts the pattern cannot match; None when nothing is needed.

    The clauses most likely to rule a text out come first, so a message that
    does not match usually costs one substring search.
    """
    if not needs:
        return None
    ordered = by_selectivity(needs)
    escapable = any(atom.escapable for clause in needs for atom in clause)
    if any(atom.kind in ("text-start", "text-end") for clause in needs for atom in clause):
        return _anchored_check(ordered, escapable)
    clauses = [tuple(atom.text for atom in clause) for clause in ordered]
    if len(clauses) == 1 and len(clauses[0]) == 1 and not escapable:
        only = clauses[0][0]
        return lambda text: only in text

    def check(text: str) -> bool:
        for clause in clauses:
            for piece in clause:
                if piece in text:
                    break
            else:
                # An escaped key or value hides its text, so the texts prove nothing then.
                return escapable and has_json_escape(text)
        return True

    return check


def _anchored_check(clauses: list[Clause], escapable: bool) -> Callable[[str], bool]:
    """The general form, for needs with atoms tied to where the message starts or ends."""

    def check(text: str) -> bool:
        for clause in clauses:
            if not any(atom.found_in(text) for atom in clause):
                return escapable and has_json_escape(text)
        return True

    return check


class PatternIndex(Generic[T]):
    """The values whose patterns may match a message, found with one pass over its text.

    ``entries`` are ``(needs, value, otherwise)``: a pattern's needs
    (``pattern.needs``), what to hand back when the pattern may match (a metric
    filter, a position) and what to hand back when it cannot (None: nothing; a
    metric filter with a default value still publishes it). Values come back
    in the order of ``entries``.
    """

    __slots__ = ("_all", "_cache", "_clauses", "_entries", "_escapable", "_set")

    def __init__(self, entries: Iterable[tuple[Needs, T, T | None]]) -> None:
        self._entries = list(entries)
        self._all: tuple[T, ...] = tuple(value for _, value, _ in self._entries)
        ids: dict[Atom, int] = {}
        escapable: set[int] = set()
        # Per entry: None (always a candidate) or its clauses as sets of text ids.
        self._clauses: list[tuple[frozenset[int], ...] | None] = []
        for needs, _, _ in self._entries:
            # A text RE2 cannot read (a lone surrogate) cannot rule anything out: its clause goes.
            usable = [clause for clause in needs if all(_readable(atom.text) for atom in clause)]
            if not usable:
                self._clauses.append(None)
                continue
            clauses = []
            for clause in usable:
                members = set()
                for atom in clause:
                    number = ids.setdefault(atom, len(ids) + 1)  # 0 is the sentinel
                    members.add(number)
                    if atom.escapable:
                        escapable.add(number)
                clauses.append(frozenset(members))
            self._clauses.append(tuple(clauses))
        self._escapable = frozenset(escapable)
        self._cache: dict[frozenset[int], tuple[T, ...]] = {}
        self._set = _compile_set(ids) if ids else None

    def candidates(self, text: str) -> tuple[T, ...]:
        """Every value whose pattern could match ``text``, possibly with some that do not."""
        if self._set is None:
            return self._all
        try:
            found = self._set.Match(text)
        except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8 only
            return self._all
        if not found:  # not even the sentinel, which occurs in every text: the pass failed
            return self._all
        hits = frozenset(found)
        if self._escapable and "\\" in text and has_json_escape(text):
            hits |= self._escapable
        result = self._cache.get(hits)
        if result is None:
            result = self._select(hits)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[hits] = result
        return result

    def _select(self, hits: frozenset[int]) -> tuple[T, ...]:
        chosen: list[T] = []
        for (_, value, otherwise), clauses in zip(self._entries, self._clauses, strict=True):
            if clauses is None or all(not clause.isdisjoint(hits) for clause in clauses):
                chosen.append(value)
            elif otherwise is not None:
                chosen.append(otherwise)
        return tuple(chosen)

    def __len__(self) -> int:
        return len(self._entries)


def _compile_set(ids: dict[Atom, int]) -> re2.Set:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = _MAX_MEMORY
    texts = re2.Set.SearchSet(options)
    # The sentinel: every text has an end, so an answer without it means a failed pass.
    # (An empty pattern would do too, but matching at every position costs half as much
    # again as the whole set.)
    texts.Add(r"\z")
    for atom, number in sorted(ids.items(), key=lambda item: item[1]):
        quoted = re2.escape(atom.text)
        if atom.kind == "text-start":
            quoted = rf"\A{quoted}"
        elif atom.kind == "text-end":
            quoted = rf"{quoted}\z"
        added = texts.Add(quoted)
        assert added == number, (added, number)
    texts.Compile()
    return texts


def _readable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
