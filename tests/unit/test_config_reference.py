"""docs/configuration.md documents every key the parsers accept, with the ranges they enforce."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pytest

from consumers.config.connections import ENVIRONMENT_OVERRIDES
from consumers.config.file import DEFAULT_CONFIG, load_config
from consumers.config.reference import KEYS, Key, render
from consumers.config.service import parse_config, service_config
from consumers.devtools.config_reference import REFERENCE
from pipeline.config import CORE_SECTIONS
from pipeline.config_values import Section
from pipeline.errors import ConfigError

#: one of everything, so every parser runs its ``only`` check
EVERYTHING = """
kafka: {}
opensearch: {}
metrics: {}
lambda: {prices: {as_of: 2025-08-01}}
routes: [{log_groups: ['/a/*'], retention_days: 7, index_prefix: a}]
default_route: {retention_days: 30}
"""
NUMERIC = [key for key in KEYS if key.bounds is not None]


def accepted_keys(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    seen: set[str] = set()
    real_only = Section.only

    def spy(self: Section, known: Sequence[str]) -> None:
        path = re.sub(r"\[\d+\]", "[]", self.path)
        seen.update(f"{path}.{name}" if path else name for name in known)
        real_only(self, known)

    monkeypatch.setattr(Section, "only", spy)
    parse_config(EVERYTHING, "p.yaml")
    return seen


def nested(path: str, value: Any) -> dict[str, Any]:
    """``{"kafka": {"max_batch_records": value}}`` for ``kafka.max_batch_records``."""
    *sections, name = path.split(".")
    data: dict[str, Any] = {name: value}
    if sections[:1] == ["lambda"] and sections[1:] == ["prices"]:
        data.setdefault("as_of", "2025-08-01")
    for section in reversed(sections):
        data = {section: data}
    return data


def test_the_reference_file_is_fresh() -> None:
    # when this fails: python -m consumers.devtools.config_reference
    assert REFERENCE.read_text(encoding="utf-8") == render()


def test_every_accepted_key_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = {key.path for key in KEYS}
    assert accepted_keys(monkeypatch) - documented == set()


def test_every_documented_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    documented = {key.path for key in KEYS}
    assert documented - accepted_keys(monkeypatch) == set()


def test_every_environment_override_is_documented() -> None:
    text = render()
    assert all(f"`{variable}`" in text for variable in ENVIRONMENT_OVERRIDES)


@pytest.mark.parametrize("key", NUMERIC, ids=lambda key: key.path)
def test_documented_defaults_are_the_model_defaults(key: Key) -> None:
    value: Any = parse_config(EVERYTHING)
    if key.path.split(".")[0] in CORE_SECTIONS:
        value = value.core
    for name in key.path.split("."):
        value = getattr(value, "lambda_" if name == "lambda" else name)
    assert value == pytest.approx(float(key.default))


@pytest.mark.parametrize("key", NUMERIC, ids=lambda key: key.path)
def test_below_the_documented_range_is_refused(key: Key) -> None:
    assert key.bounds is not None and key.bounds.low is not None
    below = key.bounds.low if key.bounds.low_open else key.bounds.low - 1
    with pytest.raises(ConfigError) as raised:
        service_config(nested(key.path, below), "p.yaml")
    assert raised.value.key == key.path


@pytest.mark.parametrize(
    "key", [k for k in NUMERIC if k.bounds and k.bounds.high], ids=lambda key: key.path
)
def test_above_the_documented_range_is_refused(key: Key) -> None:
    assert key.bounds is not None and key.bounds.high is not None
    with pytest.raises(ConfigError) as raised:
        service_config(nested(key.path, key.bounds.high + 1), "p.yaml")
    assert raised.value.key == key.path


@pytest.mark.parametrize("key", NUMERIC, ids=lambda key: key.path)
@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "inf"])
def test_non_finite_numbers_are_refused(key: Key, value: float) -> None:
    with pytest.raises(ConfigError) as raised:
        service_config(nested(key.path, value), "p.yaml")
    assert raised.value.key == key.path


def test_the_shipped_config_says_the_default_routes_retention() -> None:
    shipped = DEFAULT_CONFIG.read_text(encoding="utf-8")
    days = load_config(DEFAULT_CONFIG).core.default_route.retention_days
    assert f"# The route for every other log group. Its retention is {days} days" in shipped
    assert f"cwlpipe-retain-{days}d" in shipped


def test_the_readme_links_the_reference() -> None:
    readme = (REFERENCE.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "](docs/configuration.md)" in readme
