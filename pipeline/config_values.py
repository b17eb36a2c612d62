"""Typed reads from a config mapping; every failure names the file, the key path and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError

__all__ = ["Secret", "Section"]

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Secret:
    """A password or token: never printed, whatever prints the config."""

    value: str

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


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

    def integer(self, name: str, default: Any = _MISSING, minimum: int = 0) -> int:
        value = self._value(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.error(name, f"must be an integer >= {minimum}")
        return value

    def number(self, name: str, default: Any = _MISSING, minimum: float = 0.0) -> float:
        value = self._value(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(name, f"must be a number >= {minimum:g}")
        return float(value)

    def boolean(self, name: str, default: Any = _MISSING) -> bool:
        value = self._value(name, default)
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false")
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
