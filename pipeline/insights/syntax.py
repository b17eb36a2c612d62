"""The parsed form of a Logs Insights query: expressions and commands.

Every expression and item keeps the text it was written as, because
Insights names an unaliased column by its text (``count(*)``, ``bin(5m)``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AGGREGATES",
    "Access",
    "Binary",
    "Call",
    "Command",
    "Dedup",
    "Display",
    "Duration",
    "Expr",
    "Field",
    "Fields",
    "Filter",
    "In",
    "Item",
    "Like",
    "Limit",
    "ListExpr",
    "Literal",
    "Parse",
    "Query",
    "Regex",
    "Sort",
    "SortKey",
    "Source",
    "Stats",
    "Unary",
    "Unnest",
]

#: aggregation functions (``stats`` only); the rest are per-row functions
AGGREGATES = frozenset(
    {
        "count",
        "count_distinct",
        "sum",
        "avg",
        "min",
        "max",
        "pct",
        "stddev",
        "earliest",
        "latest",
        "sortsfirst",
        "sortslast",
    }
)


@dataclass(frozen=True, slots=True)
class Field:
    name: str


@dataclass(frozen=True, slots=True)
class Literal:
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Duration:
    """A period such as ``5m`` or ``1h`` (bin, datefloor, dateceil)."""

    text: str


@dataclass(frozen=True, slots=True)
class Regex:
    pattern: str


@dataclass(frozen=True, slots=True)
class ListExpr:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "not"
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Like:
    """``like`` / ``not like`` / ``=~``: a substring (string) or a search (regex)."""

    operand: Expr
    pattern: Expr
    negated: bool


@dataclass(frozen=True, slots=True)
class In:
    operand: Expr
    options: ListExpr
    negated: bool


@dataclass(frozen=True, slots=True)
class Access:
    """``base.key``, ``base[index]`` or ``base.`quoted key```: into a parsed JSON value."""

    base: Expr
    key: str | int


@dataclass(frozen=True, slots=True)
class Call:
    name: str  # lower case
    args: tuple[Expr, ...]
    star: bool = False  # count(*)
    position: int = 0


Expr = Field | Literal | Duration | Regex | ListExpr | Unary | Binary | Like | In | Call | Access


@dataclass(frozen=True, slots=True)
class Item:
    """One comma-separated item of fields, display, stats or by: its column name is the alias,
    else its text."""

    expr: Expr
    text: str
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias if self.alias is not None else self.text


@dataclass(frozen=True, slots=True)
class Fields:
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Display:
    items: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Filter:
    condition: Expr


@dataclass(frozen=True, slots=True)
class Stats:
    items: tuple[Item, ...]
    by: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class SortKey:
    expr: Expr
    text: str
    descending: bool


@dataclass(frozen=True, slots=True)
class Sort:
    keys: tuple[SortKey, ...]


@dataclass(frozen=True, slots=True)
class Limit:
    count: int


@dataclass(frozen=True, slots=True)
class Parse:
    source: Expr
    pattern: str  # the glob, or the regex without its slashes
    is_regex: bool
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dedup:
    fields: tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Unnest:
    field: Expr
    into: str


@dataclass(frozen=True, slots=True)
class Source:
    """``SOURCE logGroups(namePrefix: [...])``: log groups whose names start with a prefix."""

    name_prefixes: tuple[str, ...]


Command = Fields | Display | Filter | Stats | Sort | Limit | Parse | Dedup | Unnest


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    commands: tuple[Command, ...]
    source: Source | None = None
