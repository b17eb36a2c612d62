"""Who may call ``cwlpipe serve``: SigV4 verified with botocore's signer, loopback without it,
the ``api`` config section."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from consumers.api.errors import ApiError
from consumers.api.server import ApiServer, ListenRefused, is_loopback
from consumers.api.sigv4 import verify
from consumers.config.api import split_listen
from consumers.config.service import service_config
from consumers.runtime.errors import ShellError
from pipeline.errors import ConfigError

URL = "http://127.0.0.1:4586/"
BODY = b'{"limit": 5}'
SECRETS = {"AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}


def signed(
    secret: str = SECRETS["AKIDEXAMPLE"],
    key_id: str = "AKIDEXAMPLE",
    body: bytes = BODY,
    when: datetime | None = None,
) -> dict[str, str]:
    """Headers as botocore's client signs them (SigV4Auth.add_auth, at ``when``)."""
    request = AWSRequest(
        method="POST",
        url=URL,
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
            "User-Agent": "test",
        },
    )
    auth = SigV4Auth(Credentials(key_id, secret), "logs", "eu-west-1")
    if when is not None:
        import botocore.auth

        real = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda: when.replace(tzinfo=None)
        try:
            auth.add_auth(request)
        finally:
            botocore.auth.get_current_datetime = real
    else:
        auth.add_auth(request)
    headers = dict(request.headers.items())
    headers["Host"] = "127.0.0.1:4586"
    return headers


def check(headers: dict[str, str], body: bytes = BODY) -> str:
    return verify("POST", URL, headers, body, SECRETS.get)


def test_a_request_botocore_signed_is_accepted() -> None:
    assert check(signed()) == "AKIDEXAMPLE"


@pytest.mark.parametrize(
    ("headers", "body", "error", "status"),
    [
        (lambda: signed(secret="wrong"), BODY, "InvalidSignatureException", 403),
        (lambda: signed(key_id="AKIDUNKNOWN"), BODY, "UnrecognizedClientException", 403),
        (lambda: signed(), b'{"limit": 50}', "InvalidSignatureException", 403),
        (
            lambda: signed(when=datetime.now(UTC) - timedelta(minutes=20)),
            BODY,
            "InvalidSignatureException",
            403,
        ),
        (lambda: {"Host": "127.0.0.1:4586"}, BODY, "MissingAuthenticationTokenException", 403),
        (
            lambda: {"Authorization": "AWS4-HMAC-SHA256 Credential=x", "Host": "h"},
            BODY,
            "IncompleteSignatureException",
            400,
        ),
    ],
    ids=["wrong-secret", "unknown-key", "tampered-body", "expired", "unsigned", "malformed"],
)
def test_refusals(headers: object, body: bytes, error: str, status: int) -> None:
    with pytest.raises(ApiError) as raised:
        check(headers(), body)  # type: ignore[operator]
    assert (raised.value.type, raised.value.status) == (error, status)


def test_a_changed_signed_header_is_refused() -> None:
    headers = signed()
    headers["X-Amz-Target"] = "Logs_20140328.FilterLogEvents"
    with pytest.raises(ApiError):
        check(headers)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.5", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


async def test_without_credentials_it_refuses_to_listen_beyond_loopback() -> None:
    config = service_config({"opensearch": {"url": "http://127.0.0.1:9"}})
    server = ApiServer(config, "0.0.0.0", 0)
    with pytest.raises(ListenRefused, match="only loopback"):
        await server.start()
    await server.stop()


def test_credentials_name_environment_variables() -> None:
    config = service_config(
        {"api": {"credentials": {"AKIDEXAMPLE": "MY_SECRET"}}}, env={"MY_SECRET": "s3cret"}
    )
    secret = config.api.secret_for("AKIDEXAMPLE")
    assert secret is not None and secret.value == "s3cret"
    assert "s3cret" not in repr(config)


async def test_a_credential_whose_variable_is_unset_stops_serve_not_the_config() -> None:
    data = {"opensearch": {"url": "http://127.0.0.1:9"}}
    config = service_config({**data, "api": {"credentials": {"AKIDEXAMPLE": "MY_SECRET"}}}, env={})
    server = ApiServer(config, "127.0.0.1", 0)
    with pytest.raises(ShellError, match=r"api.credentials.AKIDEXAMPLE: .* MY_SECRET is not set"):
        await server.start()
    await server.stop()


def test_the_firehose_key_comes_from_the_environment() -> None:
    config = service_config({}, env={"CWLPIPE_FIREHOSE_ACCESS_KEY": "k"})
    assert config.api.firehose_access_key is not None
    assert config.api.firehose_access_key.value == "k"


@pytest.mark.parametrize("text", ["4586", "host:", "h:port", "h:70000"])
def test_a_bad_listen_address_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        split_listen(text)
    with pytest.raises(ConfigError):
        service_config({"api": {"listen": text}})


def test_ipv6_listen() -> None:
    assert split_listen("[::1]:4586") == ("::1", 4586)
