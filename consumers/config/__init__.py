"""The service's configuration: the file, its connection settings, and the core's part of it."""

from consumers.config.file import DEFAULT_CONFIG, load_config
from consumers.config.service import MetricsConfig, ServiceConfig, parse_config, service_config

__all__ = [
    "DEFAULT_CONFIG",
    "MetricsConfig",
    "ServiceConfig",
    "load_config",
    "parse_config",
    "service_config",
]
