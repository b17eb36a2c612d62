"""What every compiled filter pattern offers, whatever its kind."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.needs import NOTHING, Needs

__all__ = ["FilterPattern", "Match", "MatchAll", "as_parsed"]


@dataclass(frozen=True, slots=True)
class Match:
    """A successful match.

    ``extracted_values`` is spelled as TestMetricFilter spells it (``$ip``,
    ``$7``) and is empty for every kind but space-delimited patterns.
    """

    extracted_values: dict[str, str] = field(default_factory=dict)

    @property
    def extracted_fields(self) -> dict[str, str]:
        """The same values keyed by bare names, as a subscription payload's ``extractedFields``."""
        return {name.removeprefix("$"): value for name, value in self.extracted_values.items()}


def as_parsed(message: str | ParsedMessage) -> ParsedMessage:
    return message if isinstance(message, ParsedMessage) else ParsedMessage(message)


class FilterPattern:
    """A compiled CloudWatch Logs filter pattern.

    ``match`` takes the message text or a :class:`ParsedMessage`; pass the
    latter when several patterns look at one message, so it is parsed once.

    ``needs`` (:mod:`pipeline.patterns.needs`) are the texts a message must hold
    for ``match`` to be able to succeed; ``match`` itself never consults them, so
    it stays the exact answer that prefilters are checked against.
    """

    __slots__ = ("needs", "text")
    kind: str = "abstract"
    #: AWS allows metric-filter dimensions only for JSON and space-delimited patterns.
    supports_dimensions: bool = False

    def __init__(self, text: str, needs: Needs = NOTHING) -> None:
        self.text = text
        self.needs = needs

    def match(self, message: str | ParsedMessage) -> Match | None:
        return Match() if self.matches(message) else None

    def matches(self, message: str | ParsedMessage) -> bool:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"


class MatchAll(FilterPattern):
    """The empty (or all-blank) pattern: every event matches."""

    __slots__ = ()
    kind = "all"

    def matches(self, message: str | ParsedMessage) -> bool:
        return True
