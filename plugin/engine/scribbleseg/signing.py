"""Request signatures of the Alibaba Cloud RPC protocol: V1 (HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).

Pure functions shared by the cloud client (which signs) and the server (which recomputes the
signature from what it received and compares). Test vectors: ../shared/specs/cloud-api.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote

V3_ALGORITHM = "ACS3-HMAC-SHA256"


def percent_encode(text: str) -> str:
    """RFC 3986 encoding keeping only A-Z a-z 0-9 - _ . ~ (space is %20, * is %2A)."""
    return quote(text, safe="-_.~")


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    joined = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in pairs)
    return f"{method.upper()}&%2F&{percent_encode(joined)}"


def sign_v1(method: str, params: Mapping[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 over all parameters but Signature (query and body together)."""
    digest = hmac.new(
        f"{secret}&".encode(), v1_string_to_sign(method, params).encode(), hashlib.sha1
    ).digest()
    return base64.b64encode(digest).decode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def default_signed_headers(headers: Iterable[tuple[str, str]]) -> list[str]:
    """The header names the SDKs sign: host, content-type and every x-acs-* header."""
    names = {name.lower() for name, _ in headers}
    return sorted(n for n in names if n.startswith("x-acs-") or n in ("host", "content-type"))


def v3_canonical_request(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Iterable[tuple[str, str]],
    signed_headers: list[str],
    payload_hash: str,
) -> str:
    canonical_query = "&".join(
        f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items())
    )
    values: dict[str, list[str]] = {name: [] for name in signed_headers}
    for name, value in headers:
        if name.lower() in values:
            values[name.lower()].append(value.strip())
    canonical_headers = "".join(f"{n}:{','.join(values[n])}\n" for n in signed_headers)
    return "\n".join(
        [method.upper(), path or "/", canonical_query, canonical_headers,
         ";".join(signed_headers), payload_hash]
    )


def sign_v3(
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Iterable[tuple[str, str]],
    payload_hash: str,
    secret: str,
    signed_headers: list[str] | None = None,
) -> tuple[str, list[str]]:
    """Return (hex signature, signed header names) for an ACS3-HMAC-SHA256 request."""
    headers = list(headers)
    names = signed_headers if signed_headers is not None else default_signed_headers(headers)
    canonical = v3_canonical_request(method, path, query, headers, names, payload_hash)
    string_to_sign = f"{V3_ALGORITHM}\n{sha256_hex(canonical.encode())}"
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    return signature, names


def v3_authorization(access_key_id: str, signed_headers: list[str], signature: str) -> str:
    return (
        f"{V3_ALGORITHM} Credential={access_key_id},"
        f"SignedHeaders={';'.join(signed_headers)},Signature={signature}"
    )


def parse_v3_authorization(value: str) -> tuple[str, list[str], str]:
    """Split an Authorization header into (AccessKeyId, signed header names, signature).

    Raises ValueError when the header is not an ACS3-HMAC-SHA256 authorization.
    """
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != V3_ALGORITHM:
        raise ValueError(f"unsupported signature algorithm {algorithm!r}")
    fields = dict(part.strip().partition("=")[::2] for part in rest.split(","))
    try:
        return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]
    except KeyError as missing:
        raise ValueError(f"Authorization lacks {missing.args[0]}") from None
