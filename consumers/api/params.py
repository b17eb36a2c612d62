"""Reading an operation's request members, refused as AWS refuses them.

botocore validates most constraints before sending, but ``curl``, other SDKs
and old clients do not: every type, length and range is checked here again,
with the message CloudWatch Logs gives (``1 validation error detected: Value
'0' at 'limit' failed to satisfy constraint: ...``) as InvalidParameterException.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from consumers.api.errors import ApiError, invalid_parameter

__all__ = ["Params"]

_MISSING: Any = object()


def _constraint(name: str, value: Any, constraint: str) -> ApiError:
    return invalid_parameter(
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy "
        f"constraint: {constraint}"
    )


class Params:
    """The JSON object of one request, with typed getters."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def string(
        self, name: str, *, required: bool = False, min_len: int = 0, max_len: int | None = None
    ) -> str | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise invalid_parameter(f"Missing required parameter: {name}")
            return None
        if not isinstance(value, str):
            raise invalid_parameter(f"Invalid type for parameter {name}: expected a string")
        if len(value) < min_len:
            raise _constraint(
                name, value, f"Member must have length greater than or equal to {min_len}"
            )
        if max_len is not None and len(value) > max_len:
            raise _constraint(
                name, value, f"Member must have length less than or equal to {max_len}"
            )
        return value

    def required_string(self, name: str, *, min_len: int = 0, max_len: int | None = None) -> str:
        value = self.string(name, required=True, min_len=min_len, max_len=max_len)
        assert value is not None
        return value

    def integer(
        self, name: str, *, low: int | None = None, high: int | None = None, required: bool = False
    ) -> int | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise invalid_parameter(f"Missing required parameter: {name}")
            return None
        # JSON numbers: 5.0 is not an integer member; true is not 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_parameter(f"Invalid type for parameter {name}: expected an integer")
        if low is not None and value < low:
            raise _constraint(name, value, f"Member must have value greater than or equal to {low}")
        if high is not None and value > high:
            raise _constraint(name, value, f"Member must have value less than or equal to {high}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise invalid_parameter(f"Invalid type for parameter {name}: expected a boolean")
        return value

    def choice(self, name: str, choices: Sequence[str]) -> str | None:
        value = self.string(name)
        if value is not None and value not in choices:
            raise _constraint(
                name, value, f"Member must satisfy enum value set: [{', '.join(choices)}]"
            )
        return value

    def strings(
        self, name: str, *, min_items: int = 0, max_items: int | None = None, min_len: int = 0
    ) -> list[str] | None:
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise invalid_parameter(
                f"Invalid type for parameter {name}: expected a list of strings"
            )
        if len(value) < min_items:
            raise _constraint(
                name, value, f"Member must have length greater than or equal to {min_items}"
            )
        if max_items is not None and len(value) > max_items:
            raise _constraint(
                name, value, f"Member must have length less than or equal to {max_items}"
            )
        for item in value:
            if len(item) < min_len:
                raise _constraint(
                    name, item, f"Member must have length greater than or equal to {min_len}"
                )
        return list(value)
