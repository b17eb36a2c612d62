"""Verifying AWS Signature Version 4 on an incoming request, with botocore's own signer.

The request is rebuilt as botocore's ``AWSRequest`` holding exactly the
headers the client says it signed, then botocore's :class:`SigV4Auth`
computes the canonical request, the string to sign and the signature for the
access key's secret and the client's credential scope; the signatures are
compared in constant time. Nothing of the algorithm is written here, so it is
the one every AWS SDK signs with. The date must be within 15 minutes of now,
as AWS requires, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from consumers.api.errors import ApiError
from consumers.runtime.errors import ShellError

__all__ = ["MAX_SKEW_S", "require_botocore", "verify"]

MAX_SKEW_S = 15 * 60
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)/(\d{8})/([^/,\s]+)/([^/,\s]+)/aws4_request,\s*"
    r"SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$"
)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


def require_botocore() -> None:
    """botocore comes with the ``aws`` extra; credentials without it stop start-up, one line."""
    try:
        import botocore.auth  # noqa: F401
    except ImportError:
        raise ShellError(
            "api.credentials need botocore to verify signatures: pip install 'cwl-pipeline[aws]'"
        ) from None


def _incomplete(message: str) -> ApiError:
    return ApiError("IncompleteSignatureException", message, status=400)


def verify(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_for: Callable[[str], str | None],
    *,
    now: datetime | None = None,
) -> str:
    """The access key id of a correctly signed request; AWS's error otherwise.

    ``url`` is the request's URL as the client addressed it (scheme, Host, path, query).
    """
    headers = {name.lower(): value for name, value in headers.items()}
    authorization = headers.get("authorization")
    if not authorization:
        raise ApiError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)
    match = _AUTHORIZATION.match(authorization.strip())
    if match is None:
        raise _incomplete(
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
            "with AWS4-HMAC-SHA256."
        )
    key_id, day, region, service, signed, signature = match.groups()
    secret = secret_for(key_id)
    if secret is None:
        raise ApiError(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            403,
        )
    amz_date = headers.get("x-amz-date")
    if not amz_date:
        raise _incomplete("Authorization requires the X-Amz-Date header.")
    try:
        moment = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(f"X-Amz-Date is not a date: {amz_date}") from None
    if amz_date[:8] != day:
        raise ApiError(
            "InvalidSignatureException", "The credential scope's date is not X-Amz-Date's.", 403
        )
    current = now or datetime.now(UTC)
    if abs((current - moment).total_seconds()) > MAX_SKEW_S:
        raise ApiError(
            "InvalidSignatureException",
            f"Signature expired: {amz_date} is now earlier or later than "
            f"{current.strftime(_AMZ_DATE)} by more than 15 minutes.",
            403,
        )
    names = signed.split(";")
    if "host" not in names:
        raise _incomplete("The host header must be signed.")
    chosen: dict[str, str] = {}
    for name in names:
        value = headers.get(name)
        if value is None:
            raise _incomplete(f"The signed header {name} is missing.")
        chosen[name] = value
    declared = chosen.get("x-amz-content-sha256")
    if declared is not None and declared != hashlib.sha256(body).hexdigest():
        # botocore signs the declared hash, not the body: it must be the body's
        raise ApiError(
            "InvalidSignatureException", "x-amz-content-sha256 is not the body's SHA-256.", 403
        )
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, headers=chosen, data=body)
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(key_id, secret), service, region)
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    if not hmac.compare_digest(expected, signature):
        raise ApiError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method.",
            403,
        )
    return key_id
