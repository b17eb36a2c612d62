"""Typed reads from a config mapping; every failure names the file, the key path and why."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError

__all__ = [
    "COUNT",
    "NON_NEGATIVE",
    "PORT",
    "SECONDS",
    "Bounds",
    "Secret",
    "Section",
]

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Secret:
    """A password or token: never printed, whatever prints the config."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class Bounds:
    """The values a numeric key accepts, always finite: NaN or infinity never means anything here.

    ``low_open`` excludes ``low`` itself, for durations where zero would mean
    "spin" or "give up at once" (``> 0`` rather than ``>= 0``).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def __contains__(self, value: float) -> bool:
        try:
            if not math.isfinite(value):
                return False
        except OverflowError:  # an integer too large for a float: out of every range here
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def __str__(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {_plain(self.low)}"
        high = None if self.high is None else f"<= {_plain(self.high)}"
        if self.low is not None and self.high is not None and not self.low_open:
            return f"from {_plain(self.low)} to {_plain(self.high)}"
        return " and ".join(part for part in (low, high) if part) or "(any finite number)"


def _plain(number: float) -> str:
    """2147483647, not 2.14748e+09: a limit is read and copied by people."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


NON_NEGATIVE = Bounds(0)
COUNT = Bounds(1)
#: a port an operator can scrape: 0 ("any free port") would hide where /metrics went
PORT = Bounds(1, 65535)
#: timeouts, backoffs and deadlines: zero would spin or give up at once; an hour is already absurd
SECONDS = Bounds(0, 3600, low_open=True)


class Section:
    """A mapping at a key path of a file, with getters that explain what is wrong."""

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError("must be a mapping", file=file, key=path or None)
        self.data: Mapping[str, Any] = data
        self.file = file
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, reason: str) -> ConfigError:
        return ConfigError(reason, file=self.file, key=self.key(name))

    def only(self, known: Sequence[str]) -> None:
        for name in self.data:
            if name not in known:
                raise self.error(name, f"unknown key; expected one of {', '.join(sorted(known))}")

    def section(self, name: str) -> Section:
        return Section(self.data.get(name), self.file, self.key(name))

    def raw(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)

    def string(self, name: str, default: Any = _MISSING) -> str:
        value = self._value(name, default)
        if not isinstance(value, str) or not value:
            raise self.error(name, "must be a non-empty string")
        return value

    def optional_string(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.error(name, "must be a non-empty string")
        return value

    def integer(self, name: str, default: Any = _MISSING, bounds: Bounds = NON_NEGATIVE) -> int:
        value = self._value(name, default)
        # bool is an int in Python, but ``port: yes`` is a mistake, not port 1
        if isinstance(value, bool) or not isinstance(value, int) or value not in bounds:
            raise self.error(name, f"must be an integer {bounds}, got {value!r}")
        return value

    def number(self, name: str, default: Any = _MISSING, bounds: Bounds = NON_NEGATIVE) -> float:
        value = self._value(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value not in bounds:
            raise self.error(name, f"must be a finite number {bounds}, got {value!r}")
        return float(value)

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._value(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {value!r}")
        return value

    def choice(self, name: str, choices: Sequence[str], default: Any = _MISSING) -> str:
        value = self._value(name, default)
        if value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}")
        return str(value)

    def strings(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._value(name, default)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(isinstance(item, str) and item for item in value)
        ):
            raise self.error(name, "must be a non-empty list of non-empty strings")
        return tuple(value)

    def secret(self, name: str) -> Secret | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(name, "must be a string")
        return Secret(value)

    def _value(self, name: str, default: Any) -> Any:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.error(name, "is required")
        return default
