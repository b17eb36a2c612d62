"""The ``api`` section: where ``cwlpipe serve`` listens, who may call it, and its bounds.

Credentials map an access key id to the *name* of an environment variable
holding its secret, so no secret sits in the file; the variable is read when
the config is loaded (the environment is passed in, never read here); one that is unset stops
``cwlpipe serve`` with the key that names it, and only it: ``cwlpipe run``
reads the same file without needing the API's secrets. The Firehose access
key comes from ``CWLPIPE_FIREHOSE_ACCESS_KEY`` or the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipeline.config_values import COUNT, SECONDS, Bounds, Secret, Section

__all__ = [
    "DEFAULT_LISTEN",
    "REQUEST_BYTES",
    "ApiConfig",
    "parse_api",
    "split_listen",
]

DEFAULT_LISTEN = "127.0.0.1:4586"
#: a request body below 1 KiB cannot hold a Firehose delivery; above 1 GiB is a mistake
REQUEST_BYTES = Bounds(1024, 2**30)
#: how many Insights queries may run at once (the rest wait as Scheduled)
RUNNING_QUERIES = Bounds(1, 64)
#: queries kept unfinished at most; AWS's own limit is 30 concurrent queries per account
PENDING_QUERIES = Bounds(1, 1000)


@dataclass(frozen=True, slots=True)
class ApiConfig:
    listen: str = DEFAULT_LISTEN
    #: access key id -> its secret (read from the environment variable the file names)
    credentials: tuple[tuple[str, Secret], ...] = ()
    #: (access key id, variable) of credentials whose variable was not set
    unset_credentials: tuple[tuple[str, str], ...] = ()
    max_request_bytes: int = 1024 * 1024  # the CloudWatch Logs API's JSON requests
    firehose_max_request_bytes: int = 128 * 1024 * 1024  # a Firehose delivery, decompressed
    firehose_access_key: Secret | None = None
    firehose_timeout_s: float = 60.0  # Firehose itself gives up after 180 s
    query_timeout_s: float = 60.0
    query_scan_cap: int = 1_000_000
    max_running_queries: int = 2
    max_pending_queries: int = 30

    def secret_for(self, key_id: str) -> Secret | None:
        return dict(self.credentials).get(key_id)


def split_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:4586`` for IPv6) -> (host, port); ValueError says what is wrong."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"must be host:port, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"the port must be a number, got {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ValueError(f"the port must be from 0 to 65535, got {port}")
    return host, port


def parse_api(section: Section, env: Mapping[str, str]) -> ApiConfig:
    d = ApiConfig()
    section.only(
        [
            "listen",
            "credentials",
            "max_request_bytes",
            "firehose_max_request_bytes",
            "firehose_access_key",
            "firehose_timeout_s",
            "query_timeout_s",
            "query_scan_cap",
            "max_running_queries",
            "max_pending_queries",
        ]
    )
    listen = section.string("listen", d.listen)
    try:
        split_listen(listen)
    except ValueError as error:
        raise section.error("listen", str(error)) from None
    firehose_key = section.secret("firehose_access_key")
    if firehose_key is not None and not firehose_key.value:
        raise section.error("firehose_access_key", "must not be empty")
    running = section.integer("max_running_queries", d.max_running_queries, RUNNING_QUERIES)
    credentials, unset = _credentials(section.section("credentials"), env)
    return ApiConfig(
        listen=listen,
        credentials=credentials,
        unset_credentials=unset,
        max_request_bytes=section.integer("max_request_bytes", d.max_request_bytes, REQUEST_BYTES),
        firehose_max_request_bytes=section.integer(
            "firehose_max_request_bytes", d.firehose_max_request_bytes, REQUEST_BYTES
        ),
        firehose_access_key=firehose_key,
        firehose_timeout_s=section.number("firehose_timeout_s", d.firehose_timeout_s, SECONDS),
        query_timeout_s=section.number("query_timeout_s", d.query_timeout_s, SECONDS),
        query_scan_cap=section.integer("query_scan_cap", d.query_scan_cap, COUNT),
        max_running_queries=running,
        max_pending_queries=section.integer(
            "max_pending_queries", d.max_pending_queries, PENDING_QUERIES
        ),
    )


def _credentials(
    section: Section, env: Mapping[str, str]
) -> tuple[tuple[tuple[str, Secret], ...], tuple[tuple[str, str], ...]]:
    found: list[tuple[str, Secret]] = []
    unset: list[tuple[str, str]] = []
    for key_id in section.data:
        if not isinstance(key_id, str) or not key_id.isalnum():
            raise section.error(str(key_id), "an access key id is letters and digits")
        variable = section.string(key_id)
        secret = env.get(variable)
        if secret:
            found.append((key_id, Secret(secret)))
        else:
            unset.append((key_id, variable))
    return tuple(found), tuple(unset)
