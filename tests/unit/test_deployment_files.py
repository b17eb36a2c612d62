"""docker-compose.yml cannot run here (no Docker engine), so its wiring is checked instead."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import yaml

from consumers.config.file import DEFAULT_CONFIG, load_config
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
    assert config.kafka.bootstrap_servers == "kafka:29092"
    assert config.opensearch.url == "http://opensearch:9200"
    assert f"{config.metrics.port}:{config.metrics.port}" in service["ports"]
    assert int(service["stop_grace_period"].removesuffix("s")) > config.shutdown_deadline_s


def listeners(value: str) -> dict[str, tuple[str, int]]:
    """Kafka's ``NAME://host:port,...`` as ``{NAME: (host, port)}`` (no host: every interface)."""
    found = {}
    for entry in value.split(","):
        name, address = entry.split("://")
        host, port = address.rsplit(":", 1)
        found[name] = (host, int(port))
    return found


def service_bootstrap(name: str) -> str:
    """The bootstrap servers a compose service runs with: its config file and its environment."""
    service = compose()["services"][name]
    config_path = service["command"][service["command"].index("--config") + 1]
    local = PROJECT_ROOT / Path(config_path).relative_to("/app")
    return load_config(local, env=service.get("environment", {})).kafka.bootstrap_servers


def test_kafka_listeners_are_consistent() -> None:
    env = compose()["services"]["kafka"]["environment"]
    bound = listeners(env["KAFKA_LISTENERS"])
    advertised = listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    protocols = dict(e.split(":") for e in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols) == set(bound)
    assert set(advertised) == set(bound) - {env["KAFKA_CONTROLLER_LISTENER_NAMES"]}
    assert all(bound[name][1] == port for name, (_, port) in advertised.items())
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised


def test_the_host_reaches_kafka_with_the_default_config() -> None:
    kafka = compose()["services"]["kafka"]
    advertised = listeners(kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"])
    host, port = load_config(DEFAULT_CONFIG).kafka.bootstrap_servers.rsplit(":", 1)
    on_host = [name for name, address in advertised.items() if address == (host, int(port))]
    assert on_host, f"no listener advertises {host}:{port}, the default config's bootstrap"
    assert f"{port}:{advertised[on_host[0]][1]}" in kafka["ports"]  # published on that port


def test_containers_and_the_health_check_use_the_in_network_listener() -> None:
    kafka = compose()["services"]["kafka"]
    advertised = listeners(kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"])
    in_network = [f"{h}:{p}" for h, p in advertised.values() if h in {"kafka", kafka["hostname"]}]
    assert len(in_network) == 1
    assert service_bootstrap("cwlpipe") == in_network[0]
    assert service_bootstrap("producer") == in_network[0]
    check = " ".join(kafka["healthcheck"]["test"])
    found = re.search(r"--bootstrap-server (\S+)", check)
    assert found is not None and found[1] == in_network[0]


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
    # the metadata names the readme; setup.py compiles the core
    assert "COPY pyproject.toml setup.py README.md ./" in build
    assert "gcc" in build and "gcc" not in final  # the compiler stays in the build stage
    assert "pip wheel --no-deps --wheel-dir /wheels ." in build
    assert "COPY --from=build /wheels /wheels" in final
    assert 'pip install "$(ls /wheels/*.whl)[aws]"' in final  # the wheel, with the aws extra
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
