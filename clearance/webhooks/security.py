"""Webhook security: Standard Webhooks signatures, and the guard that keeps target URLs
off loopback and private networks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

from kit import outbound
from kit.errors import ValidationFailed

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signature_header(secrets_now: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per valid secret, space-separated, so receivers can rotate calmly."""
    return " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets_now)


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed.one("url", "unresolvable_host", f"cannot resolve {host}") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not address.is_global or address.is_multicast


def check_url(url: str, allow_private: bool) -> None:
    """An http(s) URL whose host resolves only to public addresses (unless allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed.one("url", "invalid_url", "use an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValidationFailed.one("url", "invalid_url", "put no credentials in the URL")
    outbound.check_host("url", parts.hostname)
    if allow_private:
        return
    if any(_is_internal(address) for address in _addresses(parts.hostname)):
        raise ValidationFailed.one(
            "url", "private_address", "the URL points at a loopback or private address"
        )
