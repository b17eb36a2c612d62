"""The per-row functions of the language (string, numeric, datetime, IP, general, JSON), and
the values they work on.

A missing field is ``None``; a function of a missing argument is missing,
except those whose point is to look at missing values (``ispresent``,
``isempty``, ``isblank``, ``coalesce``). Numbers in text are numbers
(``toNumber("12")``), as Insights converts them; times are
:class:`~pipeline.insights.discovered.Timestamp` (epoch milliseconds).
"""

from __future__ import annotations

import base64
import calendar
import ipaddress
import math
import re
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import orjson

from pipeline.insights.discovered import Timestamp
from pipeline.insights.regexes import compile_regex
from pipeline.insights.syntax import AGGREGATES

__all__ = [
    "FUNCTIONS",
    "call_function",
    "check_call",
    "floor_time",
    "period_ms",
    "to_number",
    "to_text",
]

Value = Any
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)\s*\Z")

_UNITS: dict[str, tuple[str, int]] = {}
for _names, _unit, _ms in (
    (("ms", "msec", "millisecond"), "ms", 1),
    (("s", "sec", "second"), "ms", 1000),
    (("m", "min", "minute"), "ms", 60_000),
    (("h", "hr", "hour"), "ms", 3_600_000),
    (("d", "day"), "ms", 86_400_000),
    (("w", "week"), "ms", 7 * 86_400_000),
    (("mo", "mon", "month"), "month", 1),
    (("q", "qtr", "quarter"), "month", 3),
    (("y", "yr", "year"), "month", 12),
):
    for _name in _names:
        _UNITS[_name] = (_unit, _ms)
        if len(_name) > 1:
            _UNITS[_name + "s"] = (_unit, _ms)
_PERIOD = re.compile(r"(\d+(?:\.\d+)?)([a-zA-Z]+)\Z")
#: "bin(300s) is implemented as 60 seconds": the documented caps of the small units
_CAPS = {1: 1000, 1000: 60, 60_000: 60, 3_600_000: 24}


def period_ms(text: str) -> tuple[str, float] | None:
    """``5m`` -> ("ms", 300000); ``2mo`` -> ("month", 2); None for what is not a period."""
    found = _PERIOD.match(text.strip())
    if found is None:
        return None
    unit = _UNITS.get(found.group(2).lower()) or _UNITS.get(found.group(2))
    if unit is None:
        return None
    count = float(found.group(1))
    if unit[0] == "ms":
        count = min(count, _CAPS.get(unit[1], count))
    return unit[0], count * unit[1]


def floor_time(millis: int, period: tuple[str, float], *, ceil: bool = False) -> int:
    """The start (or, with ``ceil``, the end) of the period holding ``millis``, UTC; months,
    quarters and years by the calendar, from the start of the year."""
    kind, size = period
    if kind == "ms":
        step = int(size)
        floored = millis - millis % step
        return floored + step if ceil and floored != millis else floored
    months = int(size)
    moment = time.gmtime(millis // 1000)
    index = moment.tm_mon - 1
    start = index - index % months
    floored = calendar.timegm((moment.tm_year, start + 1, 1, 0, 0, 0)) * 1000
    if ceil and floored != millis:
        year, month = divmod(start + months, 12)
        return calendar.timegm((moment.tm_year + year, month + 1, 1, 0, 0, 0)) * 1000
    return floored


def to_number(value: Value) -> int | float | None:
    """A number, or a text that reads as one; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and _NUMBER.match(value):
        number = float(value)
        return (
            int(number)
            if number.is_integer() and "." not in value and "e" not in value.lower()
            else number
        )
    return None


def to_text(value: Value) -> str | None:
    """A value as text: numbers as Insights prints them, JSON values as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Timestamp):
        return value.text()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    if isinstance(value, int):
        return str(value)
    return orjson.dumps(value).decode()


# -- the table ---------------------------------------------------------------------------------

Function = Callable[[list[Value]], Value]


def _text_args(function: Callable[..., Value]) -> Function:
    """Missing if any argument is missing; the arguments as text."""

    def run(args: list[Value]) -> Value:
        if any(isinstance(arg, dict | list) for arg in args):
            return None  # a map or a list is no string: string functions give nothing
        texts = [to_text(arg) for arg in args]
        if any(text is None for text in texts):
            return None
        return function(*texts)

    return run


def _number_args(function: Callable[..., Value]) -> Function:
    def run(args: list[Value]) -> Value:
        numbers = [to_number(arg) for arg in args]
        if any(number is None for number in numbers):
            return None
        try:
            return function(*numbers)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None

    return run


def _trim(side: str) -> Function:
    def run(text: str, chars: str | None = None) -> str:
        if side == "l":
            return text.lstrip(chars)
        if side == "r":
            return text.rstrip(chars)
        return text.strip(chars)

    return _text_args(run)


def _substr(args: list[Value]) -> Value:
    text = to_text(args[0])
    start = to_number(args[1])
    if text is None or start is None:
        return None
    begin = max(0, int(start))
    if len(args) > 2:
        length = to_number(args[2])
        if length is None:
            return None
        return text[begin : begin + max(0, int(length))]
    return text[begin:]


def _round(args: list[Value]) -> Value:
    number = to_number(args[0])
    if number is None:
        return None
    digits = int(to_number(args[1]) or 0) if len(args) > 1 else 0
    scaled = number * 10**digits
    rounded = math.floor(abs(scaled) + 0.5) * (1 if scaled >= 0 else -1)  # half away from zero
    result = rounded / 10**digits
    return int(result) if digits <= 0 else result


def _is_empty(blank: bool) -> Function:
    def run(args: list[Value]) -> Value:
        value = args[0]
        if value is None:
            return 1
        text = to_text(value) or ""
        return int(text == "" or (blank and text.strip() == ""))

    return run


def _coalesce(args: list[Value]) -> Value:
    return next((arg for arg in args if arg is not None), None)


def _if(args: list[Value]) -> Value:
    return args[1] if truthy(args[0]) else (args[2] if len(args) > 2 else None)


def truthy(value: Value) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, int | float):
        return value != 0
    return bool(value)


def _greatest(pick: Callable[..., Any]) -> Function:
    def run(args: list[Value]) -> Value:
        numbers = [n for n in (to_number(a) for a in args) if n is not None]
        if numbers and len(numbers) == sum(a is not None for a in args):
            return pick(numbers)
        texts = [t for t in (to_text(a) for a in args) if t is not None]
        return pick(texts) if texts else None

    return run


def _to_int(args: list[Value]) -> Value:
    number = to_number(args[0])
    return None if number is None or math.isnan(number) or math.isinf(number) else int(number)


def _to_double(args: list[Value]) -> Value:
    number = to_number(args[0])
    return None if number is None else float(number)


def _time_of(value: Value) -> int | None:
    if isinstance(value, Timestamp):
        return int(value)
    if isinstance(value, str):
        from pipeline.insights.discovered import parse_timestamp

        found = parse_timestamp(value.replace(" ", "T") if "T" not in value else value)
        if found is not None:
            return found
    number = to_number(value)
    return None if number is None else int(number)


def _date_round(ceil: bool) -> Function:
    def run(args: list[Value]) -> Value:
        millis = _time_of(args[0])
        period = period_ms(to_text(args[1]) or "")
        if millis is None or period is None:
            return None
        return Timestamp(floor_time(millis, period, ceil=ceil))

    return run


def _from_millis(args: list[Value]) -> Value:
    number = to_number(args[0])
    return None if number is None else Timestamp(int(number))


def _to_millis(args: list[Value]) -> Value:
    return _time_of(args[0])


def _ip(value: Value) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = to_text(value)
    if text is None:
        return None
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_ip(version: int | None) -> Function:
    def run(args: list[Value]) -> Value:
        address = _ip(args[0])
        return address is not None and (version is None or address.version == version)

    return run


def _in_subnet(version: int | None) -> Function:
    def run(args: list[Value]) -> Value:
        address = _ip(args[0])
        subnet = to_text(args[1])
        if address is None or subnet is None:
            return False
        try:
            network = ipaddress.ip_network(subnet.strip(), strict=False)
        except ValueError:
            return False
        if version is not None and (address.version != version or network.version != version):
            return False
        return address.version == network.version and address in network

    return run


def _ip_kind(test: str) -> Function:
    def run(args: list[Value]) -> Value:
        address = _ip(args[0])
        if address is None:
            return False
        if test == "private":
            return address.is_private and not address.is_loopback
        if test == "public":
            return address.is_global
        return address.is_reserved or address.is_loopback or address.is_link_local

    return run


def _ipv4_to_number(args: list[Value]) -> Value:
    address = _ip(args[0])
    return int(address) if address is not None and address.version == 4 else None


def _json_parse(args: list[Value]) -> Value:
    text = to_text(args[0])
    if text is None:
        return None
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict | list) else None  # a map or a list, else empty


def _json_stringify(args: list[Value]) -> Value:
    value = args[0]
    if value is None:
        return None
    if isinstance(value, Timestamp):
        return orjson.dumps(value.text()).decode()
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return None


def _json_array_size(args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, str):
        value = _json_parse([value])
    return len(value) if isinstance(value, list) else None


def _json_array_contains(args: list[Value]) -> Value:
    value = args[0]
    if isinstance(value, str):
        value = _json_parse([value])
    return isinstance(value, list) and args[1] in value


def _split(text: str, separator: str) -> list[str]:
    return text.split(separator) if separator else list(text)


def _regex_replace(args: list[Value]) -> Value:
    text, pattern, replacement = (to_text(arg) for arg in args[:3])
    if text is None or pattern is None or replacement is None:
        return None
    try:
        compiled = compile_regex(pattern)
    except ValueError:
        return None
    return compiled.sub(replacement.replace("\\", "\\\\"), text)


def _base64_decode(text: str) -> str | None:
    try:
        return base64.b64decode(text, validate=False).decode("utf-8", "replace")
    except ValueError:
        return None


def _hex_to_ascii(text: str) -> str | None:
    try:
        return bytes.fromhex(text.removeprefix("0x")).decode("latin-1")
    except ValueError:
        return None


def _hex_to_dec(text: str) -> int | None:
    try:
        return int(text, 16)
    except ValueError:
        return None


def _dec_to_hex(args: list[Value]) -> Value:
    number = to_number(args[0])
    return None if number is None else format(int(number), "x")


def _is_numeric(args: list[Value]) -> Value:
    return to_number(args[0]) is not None


FUNCTIONS: dict[str, tuple[int, int, Function]] = {
    # string
    "concat": (1, 64, lambda a: "".join(t for t in (to_text(x) for x in a) if t is not None)),
    "ltrim": (1, 2, _trim("l")),
    "rtrim": (1, 2, _trim("r")),
    "trim": (1, 2, _trim("")),
    "strlen": (1, 1, _text_args(len)),
    "toupper": (1, 1, _text_args(str.upper)),
    "tolower": (1, 1, _text_args(str.lower)),
    "substr": (2, 3, _substr),
    "replace": (3, 3, _text_args(lambda s, a, b: s.replace(a, b) if a else s)),
    "regexreplace": (3, 3, _regex_replace),
    "strcontains": (2, 2, _text_args(lambda s, sub: int(sub in s))),
    "startswith": (2, 2, _text_args(str.startswith)),
    "endswith": (2, 2, _text_args(str.endswith)),
    "isempty": (1, 1, _is_empty(False)),
    "isblank": (1, 1, _is_empty(True)),
    "split": (2, 2, _text_args(_split)),
    "urlencode": (1, 1, _text_args(lambda s: urllib.parse.quote(s, safe=""))),
    "urldecode": (1, 1, _text_args(urllib.parse.unquote)),
    "base64encode": (1, 1, _text_args(lambda s: base64.b64encode(s.encode()).decode())),
    "base64decode": (1, 1, _text_args(_base64_decode)),
    "hextoascii": (1, 1, _text_args(_hex_to_ascii)),
    "hextodec": (1, 1, _text_args(_hex_to_dec)),
    "dectohex": (1, 1, _dec_to_hex),
    # numeric
    "abs": (1, 1, _number_args(abs)),
    "ceil": (1, 1, _number_args(math.ceil)),
    "floor": (1, 1, _number_args(math.floor)),
    "greatest": (1, 64, _greatest(max)),
    "least": (1, 64, _greatest(min)),
    "log": (1, 1, _number_args(math.log)),
    "sqrt": (1, 1, _number_args(math.sqrt)),
    "round": (1, 2, _round),
    "tonumber": (1, 1, lambda a: to_number(a[0])),
    "toint": (1, 1, _to_int),
    "tolong": (1, 1, _to_int),
    "todouble": (1, 1, _to_double),
    "isnumeric": (1, 1, _is_numeric),
    # general
    "ispresent": (1, 1, lambda a: a[0] is not None),
    "coalesce": (1, 64, _coalesce),
    "if": (2, 3, _if),
    # datetime (bin and now need the row or the query: the evaluator handles them)
    "datefloor": (2, 2, _date_round(False)),
    "dateceil": (2, 2, _date_round(True)),
    "frommillis": (1, 1, _from_millis),
    "tomillis": (1, 1, _to_millis),
    # IP
    "isvalidip": (1, 1, _is_ip(None)),
    "isvalidipv4": (1, 1, _is_ip(4)),
    "isvalidipv6": (1, 1, _is_ip(6)),
    "isipinsubnet": (2, 2, _in_subnet(None)),
    "isipv4insubnet": (2, 2, _in_subnet(4)),
    "isipv6insubnet": (2, 2, _in_subnet(6)),
    "ipv4tonumber": (1, 1, _ipv4_to_number),
    "isprivateip": (1, 1, _ip_kind("private")),
    "ispublicip": (1, 1, _ip_kind("public")),
    "isreservedip": (1, 1, _ip_kind("reserved")),
    # JSON
    "jsonparse": (1, 1, _json_parse),
    "jsonstringify": (1, 1, _json_stringify),
    "jsonarraysize": (1, 1, _json_array_size),
    "jsonarraycontains": (2, 2, _json_array_contains),
}
#: handled by the evaluator: (min, max) arguments
SPECIAL = {"bin": (1, 1), "now": (0, 0)}
_AGGREGATE_ARITY = {
    "count": (0, 1),
    "count_distinct": (1, 1),
    "pct": (2, 2),
    "earliest": (1, 1),
    "latest": (1, 1),
}


def check_call(name: str, count: int) -> str | None:
    """Why a call of ``name`` with ``count`` arguments is invalid; None when it is fine."""
    if name in FUNCTIONS:
        low, high, _ = FUNCTIONS[name]
    elif name in SPECIAL:
        low, high = SPECIAL[name]
    elif name in AGGREGATES:
        low, high = _AGGREGATE_ARITY.get(name, (1, 1))
    else:
        return f"expected a known function, found {name!r}"
    if not low <= count <= high:
        wanted = str(low) if low == high else f"{low} to {high}"
        return f"expected {wanted} argument(s) for {name}(), found {count}"
    return None


def call_function(name: str, args: list[Value]) -> Value:
    return FUNCTIONS[name][2](args)
