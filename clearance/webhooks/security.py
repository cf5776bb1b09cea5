"""Webhook security: Standard Webhooks signatures, and the guard that keeps target URLs
off loopback and private networks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

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


Address = ipaddress.IPv4Address | ipaddress.IPv6Address
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052's well-known prefix


@dataclass(frozen=True)
class Pinned:
    """Where a delivery connects: the address that was checked (never resolved again), with
    the URL's own host name kept for the Host header and TLS (SNI and certificate check)."""

    url: str
    host_header: str
    sni_hostname: str | None


def embedded_ipv4(address: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (IPv4-mapped, NAT64, 6to4, Teredo client, the old
    IPv4-compatible ::a.b.c.d): those reach the IPv4 host, so it is the one to judge."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped or address.sixtofour:
        return address.ipv4_mapped or address.sixtofour
    if address in NAT64 or int(address) >> 32 == 0:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.teredo[1] if address.teredo else None


def is_internal(address: Address) -> bool:
    judged = embedded_ipv4(address) or address
    return not judged.is_global or judged.is_multicast


def _addresses(host: str, port: int) -> list[Address]:
    """Every address the name resolves to, resolved here once."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed.one("url", "unresolvable_host", f"cannot resolve {host}") from exc
    found = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not found:
        raise ValidationFailed.one("url", "unresolvable_host", f"cannot resolve {host}")
    return found


def _parts(url: str) -> tuple[SplitResult, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValidationFailed.one("url", "invalid_url", "use an absolute http(s) URL")
    if parts.username or parts.password:
        raise ValidationFailed.one("url", "invalid_url", "put no credentials in the URL")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except (UnicodeError, ValueError) as exc:
        raise ValidationFailed.one("url", "invalid_url", "the host or port is not valid") from exc
    return parts, host, port


def _check_port(port: int, allowed: Collection[int]) -> None:
    if port not in allowed:
        shown = ", ".join(str(p) for p in sorted(allowed))
        raise ValidationFailed.one(
            "url", "port_not_allowed", f"webhook URLs may use port {shown} only (ask an admin)"
        )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _pinned(parts: SplitResult, host: str, port: int, address: Address) -> Pinned:
    netloc = f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
    literal = _is_literal(host)
    shown = f"[{host}]" if literal and ":" in host else host
    host_header = shown if parts.port is None else f"{shown}:{port}"
    sni = None if literal or parts.scheme != "https" else host
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host_header, sni)


def pin(url: str, allow_private: bool, ports: Collection[int]) -> Pinned:
    """An http(s) URL on an allowed port whose host resolves only to public addresses (unless
    an admin allowed this endpoint private ones, and with them any port), pinned to the first
    of those addresses: the delivery connects there, so DNS cannot answer differently later."""
    parts, host, port = _parts(url)
    outbound.check_host("url", host)
    addresses = _addresses(host, port)
    if not allow_private and any(is_internal(address) for address in addresses):
        raise ValidationFailed.one(
            "url", "private_address", "the URL points at a loopback or private address"
        )
    if not allow_private:
        _check_port(port, ports)
    return _pinned(parts, host, port, addresses[0])


def check_url(url: str, allow_private: bool, ports: Collection[int]) -> None:
    """Refuse a URL a delivery could not be sent to (see `pin`)."""
    pin(url, allow_private, ports)
