"""Login throttling: failed logins counted per user name and per client address in a fixed
window, in Redis (or its in-process stand-in on the embedded default), shared by every process."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from kit.errors import TooManyRequests
from kit.queue import get_redis
from kit.settings import get_settings

log = logging.getLogger("clearway.login")


def _key(kind: str, value: str) -> str:
    # Hashed: a user name or address typed into the form never becomes a raw Redis key.
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return f"{get_settings().queue_prefix}:login-failures:{kind}:{digest}"


def _counted(username: str, address: str) -> list[tuple[str, str, int]]:
    """(kind, key, limit) of each counter this attempt is charged to."""
    settings = get_settings()
    counters = [("address", _key("address", address), settings.login_failures_per_address)]
    if username:
        counters.append(
            ("username", _key("user", username.lower()), settings.login_failures_per_user)
        )
    return counters


def _locked(kind: str) -> TooManyRequests:
    if kind == "username":
        message = "too many failed logins for this user; wait before trying again"
        message_zh = "该用户登录失败次数过多，请稍后再试"
    else:
        message = "too many failed logins from this address; wait before trying again"
        message_zh = "该地址登录失败次数过多，请稍后再试"
    field = "username" if kind == "username" else None
    return TooManyRequests("login_locked", message, field, message_zh=message_zh)


def check_allowed(username: str, address: str) -> None:
    """Refuse (429) while this user name or this address is locked out, before any password
    is checked: a locked-out guesser costs no argon2 run."""
    redis = get_redis()
    for kind, key, limit in _counted(username, address):
        failures = int(redis.get(key) or 0)
        if failures >= limit:
            error = _locked(kind)
            error.retry_after_s = max(int(redis.ttl(key)), 1)
            raise error


def record_failure(username: str, address: str) -> None:
    """Count a failed login; the attempt that reaches a limit logs the lock-out."""
    window = get_settings().login_window_s
    redis = get_redis()
    for kind, key, limit in _counted(username, address):
        pipe = redis.pipeline()
        pipe.set(key, 0, ex=window, nx=True)  # the window starts at the first failure
        pipe.incr(key)
        pipe.ttl(key)
        _, failures, ttl = pipe.execute()
        if failures == limit:
            until = datetime.now(UTC) + timedelta(seconds=max(int(ttl), 0))
            log.warning(
                "login locked out by %s: user=%r address=%s until=%s",
                kind,
                username,
                address,
                until.isoformat(timespec="seconds"),
            )


def clear_user(username: str) -> None:
    """A successful login forgives the user name's earlier failures (not the address's)."""
    if username:
        get_redis().delete(_key("user", username.lower()))
