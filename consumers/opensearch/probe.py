"""``cwlpipe validate --connect``'s OpenSearch check: the cluster's info, within a timeout."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from consumers.config.connections import OpenSearchConfig
from consumers.config.summary import mask_url
from consumers.opensearch.sink import make_client
from consumers.runtime.reach import Check

__all__ = ["check_opensearch"]


async def check_opensearch(settings: OpenSearchConfig, timeout_s: float) -> Check:
    if settings.url is None:
        return Check("opensearch", True, "not configured (opensearch.url), nothing to reach")
    url = mask_url(settings.url)
    try:
        client = make_client(replace(settings, timeout_s=timeout_s))
    except ValueError as error:  # SigV4 without boto3
        return Check("opensearch", False, str(error))
    try:
        info = await asyncio.wait_for(client.info(), timeout_s)
    except TimeoutError:
        return Check("opensearch", False, f"{url}: no answer within {timeout_s:g} s")
    except StoreConnectionError as error:  # before TransportError: it is one
        return Check("opensearch", False, f"{url}: cannot connect: {error.info or error.error}")
    except TransportError as error:
        return Check("opensearch", False, f"{url}: HTTP {error.status_code} {error.error}")
    finally:
        await client.close()
    version = info.get("version", {}) if isinstance(info, dict) else {}
    product = f"{version.get('distribution', 'elasticsearch')} {version.get('number', '?')}"
    cluster = info.get("cluster_name", "?") if isinstance(info, dict) else "?"
    return Check("opensearch", True, f"{url}, cluster {cluster}, {product}")
