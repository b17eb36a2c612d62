"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked instead."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from consumers.runtime.config_file import load_config
from tests.conftest import PROJECT_ROOT

COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_compose_has_every_service_the_users_need() -> None:
    services = compose()["services"]
    assert set(services) >= {
        "kafka",
        "opensearch",
        "opensearch-dashboards",
        "prometheus",
        "cwlpipe",
        "producer",
    }
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft


def test_the_service_config_loads_and_points_at_the_compose_services() -> None:
    service = compose()["services"]["cwlpipe"]
    config_path = service["command"][service["command"].index("--config") + 1]
    local = PROJECT_ROOT / Path(config_path).relative_to("/app")
    config = load_config(local, env=service["environment"])
    assert config.kafka.bootstrap_servers == "kafka:9092"
    assert config.opensearch.url == "http://opensearch:9200"
    assert f"{config.metrics.port}:{config.metrics.port}" in service["ports"]
    assert int(service["stop_grace_period"].removesuffix("s")) > config.shutdown_deadline_s


def test_prometheus_scrapes_the_service_port(promtool: str) -> None:
    prometheus = compose()["services"]["prometheus"]
    host_file = prometheus["volumes"][0].split(":")[0]
    config = yaml.safe_load((PROJECT_ROOT / host_file).read_text())
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["cwlpipe:9108"]
    checked = subprocess.run(
        [promtool, "check", "config", str(PROJECT_ROOT / host_file)], check=False
    )
    assert checked.returncode == 0


def dockerfile_stages() -> list[str]:
    text = (PROJECT_ROOT / "Dockerfile").read_text()
    return re.split(r"^FROM ", text, flags=re.MULTILINE)[1:]


def test_the_image_installs_the_built_wheel_not_the_source_tree() -> None:
    build, final = dockerfile_stages()
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for part in packages:
        assert f"COPY {part} ./{part}" in build
    assert "COPY pyproject.toml README.md ./" in build  # the metadata names the readme
    assert "pip wheel --no-deps --wheel-dir /wheels ." in build
    assert "COPY --from=build /wheels /wheels" in final
    assert "pip install /wheels/*.whl" in final
    assert "-e" not in re.findall(r"pip install (\S+)", final)
    assert not any(f"COPY {part}" in final for part in packages)


def test_the_image_holds_the_config_the_service_and_producer_run_with() -> None:
    final = dockerfile_stages()[-1]
    services = compose()["services"]
    for name in ("cwlpipe", "producer"):
        command = services[name]["command"]
        config_path = command[command.index("--config") + 1]
        source = Path(config_path).relative_to("/app")
        assert f"COPY {source} {config_path}" in final
    assert f"CMD {json.dumps(services['cwlpipe']['command'])}" in final  # `docker run` alone too
