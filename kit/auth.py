"""Identity: API keys (shown once, stored as a SHA-256 digest), users with argon2id passwords,
signed session cookies with CSRF tokens, and the roles that scope every caller.

A key's principal is remembered in-process for PRINCIPAL_TTL_S after it authenticates: revoking
it in this process takes effect at once, revoking it from another process (the CLI, another
worker) within that many seconds."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, delete, update
from sqlalchemy import select as core_select
from sqlmodel import Field, Session, SQLModel, col, select

from kit.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from kit.outbox import utcnow
from kit.secret import signing_secret
from kit.settings import get_settings

KEY_PREFIX = "cw_"
LAST_USED_EVERY = timedelta(minutes=1)
PRINCIPAL_TTL_S = 5.0


class Role(StrEnum):
    admin = "admin"
    broker = "broker"
    staff = "staff"
    merchant = "merchant"


class ApiKey(SQLModel, table=True):
    """A credential: who it is for, what it may touch, and whether it still works."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    lookup: str = Field(max_length=16, unique=True)
    digest: str = Field(max_length=64)
    label: str = Field(max_length=120)
    role: str = Field(max_length=16)
    merchant_id: int | None = None
    warehouse_codes: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as every service sees it."""

    key_id: int | None
    label: str
    role: Role
    merchant_id: int | None = None
    warehouse_codes: frozenset[str] = frozenset()
    user_id: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.role.value}:{self.label}"

    def can_act_at(self, warehouse_code: str) -> bool:
        return self.role == Role.admin or warehouse_code in self.warehouse_codes

    def require_warehouse(self, warehouse_code: str) -> None:
        if self.role in (Role.staff, Role.broker) and not self.can_act_at(warehouse_code):
            raise Forbidden(
                "wrong_warehouse_for_key",
                f"this key may not act at warehouse {warehouse_code}",
                field="warehouse",
            )


SYSTEM = Principal(key_id=None, label="system", role=Role.admin)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_key(
    session: Session,
    *,
    label: str,
    role: Role,
    merchant_id: int | None = None,
    warehouse_codes: tuple[str, ...] = (),
) -> tuple[ApiKey, str]:
    """Create a key; the raw secret is returned once and never stored."""
    lookup = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}{lookup}_{secrets.token_urlsafe(24)}"
    key = ApiKey(
        lookup=lookup,
        digest=_digest(raw),
        label=label,
        role=role.value,
        merchant_id=merchant_id,
        warehouse_codes=",".join(warehouse_codes),
    )
    session.add(key)
    session.flush()
    return key, raw


_KEY_BY_LOOKUP = core_select(
    col(ApiKey.id),
    col(ApiKey.digest),
    col(ApiKey.label),
    col(ApiKey.role),
    col(ApiKey.merchant_id),
    col(ApiKey.warehouse_codes),
    col(ApiKey.last_used_at),
    col(ApiKey.revoked_at),
).where(col(ApiKey.lookup) == bindparam("lookup"))
# digest of the raw key -> (monotonic expiry, principal); only keys that authenticated get in.
_principals: dict[str, tuple[float, Principal]] = {}


def cached_principal(raw: str) -> Principal | None:
    """The principal of a key that authenticated less than PRINCIPAL_TTL_S ago, without the
    database; None when it has to be looked up."""
    hit = _principals.get(_digest(raw))
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def forget_principals(key_id: int | None = None) -> None:
    """Drop remembered principals: of one key, or all of them."""
    for digest, (_, principal) in list(_principals.items()):
        if key_id is None or principal.key_id == key_id:
            _principals.pop(digest, None)


def authenticate(session: Session, raw: str) -> Principal:
    """Resolve a raw key to its principal, or raise Unauthorized."""
    parts = raw.split("_")
    if len(parts) < 3 or not raw.startswith(KEY_PREFIX):
        raise Unauthorized("invalid_api_key", "the API key is malformed")
    digest = _digest(raw)
    row = session.connection().execute(_KEY_BY_LOOKUP, {"lookup": parts[1]}).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid_api_key", "the API key is unknown or revoked")
    if not secrets.compare_digest(row.digest, digest):
        raise Unauthorized("invalid_api_key", "the API key is unknown or revoked")
    _touch(session, row.id, row.last_used_at)
    codes = frozenset(code for code in row.warehouse_codes.split(",") if code)
    principal = Principal(row.id, row.label, Role(row.role), row.merchant_id, codes)
    _principals[digest] = (time.monotonic() + PRINCIPAL_TTL_S, principal)
    return principal


def _touch(session: Session, key_id: int, last_used_at: datetime | None) -> None:
    now = utcnow()
    # Recorded at most once a minute, so a polling page does not turn every read into a write.
    if last_used_at is None or now - last_used_at > LAST_USED_EVERY:
        key = session.get(ApiKey, key_id)
        if key is not None:
            key.last_used_at = now


def principal_of(key: ApiKey) -> Principal:
    codes = frozenset(code for code in key.warehouse_codes.split(",") if code)
    return Principal(key.id, key.label, Role(key.role), key.merchant_id, codes)


def revoke_key(session: Session, key_id: int) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound("api_key_not_found", f"no API key with id {key_id}", field="key_id")
    key.revoked_at = key.revoked_at or utcnow()
    forget_principals(key_id)
    end_sessions(session, key_id=key_id)
    return key


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.exec(select(ApiKey).order_by(col(ApiKey.id))))


def key_principal(session: Session, key_id: int) -> Principal:
    """The principal of a key a session cookie refers to, if the key still works."""
    key = session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        raise Unauthorized("session_expired", "the key behind this session was revoked")
    return principal_of(key)


class User(SQLModel, table=True):
    """A person who logs into the pages with a password (argon2id), scoped like a key."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True)
    password_hash: str = Field(max_length=200)
    role: str = Field(max_length=16)
    merchant_id: int | None = None
    warehouse_codes: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    last_login_at: datetime | None = None
    disabled_at: datetime | None = None


_hasher = PasswordHasher()
# A hash to verify against when the user is unknown, so timing does not reveal which names exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD = 10


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    merchant_id: int | None = None,
    warehouse_codes: tuple[str, ...] = (),
) -> User:
    """Create a page user; the password is stored only as an argon2id hash."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one(
            "password", "too_short", f"use at least {MIN_PASSWORD} characters"
        )
    if session.exec(select(User).where(col(User.username) == username)).first():
        raise Conflict("user_exists", f"user {username} already exists", field="username")
    user = User(
        username=username,
        password_hash=_hasher.hash(password),
        role=role.value,
        merchant_id=merchant_id,
        warehouse_codes=",".join(warehouse_codes),
    )
    session.add(user)
    session.flush()
    return user


@cache
def _password_slots(size: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(size)


def _password_ok(stored: str, password: str) -> bool:
    """Each check takes argon2id's 64 MiB: a burst of logins waits for a slot instead of
    growing the process by 64 MiB per request."""
    with _password_slots(get_settings().password_checks_at_once):
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False


def login_user(session: Session, username: str, password: str) -> Principal:
    """Check a username and password; the same error for an unknown name or a wrong password."""
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None or user.disabled_at is not None:
        _password_ok(_DUMMY_HASH, password)
        raise Unauthorized("bad_credentials", "unknown user or wrong password")
    if not _password_ok(user.password_hash, password):
        raise Unauthorized("bad_credentials", "unknown user or wrong password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.add(user)
    return user_principal(user)


def user_principal(user: User) -> Principal:
    codes = frozenset(code for code in user.warehouse_codes.split(",") if code)
    role = Role(user.role)
    return Principal(None, user.username, role, user.merchant_id, codes, user_id=user.id)


def load_user_principal(session: Session, user_id: int) -> Principal:
    user = session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise Unauthorized("session_expired", "the user behind this session was disabled")
    return user_principal(user)


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_secret(get_settings()), salt=salt)


class ServerSession(SQLModel, table=True):
    """A page login, held server-side so that logging out or a new password ends it at once;
    the cookie carries only a random id (its SHA-256 here) and the CSRF token, signed."""

    __tablename__ = "server_sessions"

    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(max_length=64, unique=True)
    user_id: int | None = Field(default=None, index=True)
    key_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    ended_at: datetime | None = None


def issue_session(session: Session, principal: Principal) -> str:
    """Open a server-side session for the key or user; the signed cookie value names it and
    carries a fresh CSRF token."""
    token, now = secrets.token_urlsafe(32), utcnow()
    _drop_expired(session, now)
    session.add(
        ServerSession(
            digest=_digest(token),
            user_id=principal.user_id,
            key_id=principal.key_id if principal.user_id is None else None,
            created_at=now,
            expires_at=now + timedelta(seconds=get_settings().session_max_age_s),
        )
    )
    data = {"sid": token, "csrf": secrets.token_urlsafe(24)}
    return _serializer("clearway-session").dumps(data)


def _drop_expired(session: Session, now: datetime) -> None:
    expired = delete(ServerSession).where(col(ServerSession.expires_at) < now)
    session.execute(expired)


def read_session(value: str) -> dict[str, object]:
    """The session data of a cookie, or Unauthorized when forged or expired."""
    try:
        data = _serializer("clearway-session").loads(
            value, max_age=get_settings().session_max_age_s
        )
    except BadSignature as exc:
        raise Unauthorized("session_expired", "log in again") from exc
    if not isinstance(data, dict):
        raise Unauthorized("session_expired", "log in again")
    return data


def _live_session(session: Session, data: dict[str, object]) -> ServerSession:
    token = data.get("sid")
    if not isinstance(token, str):
        raise Unauthorized("session_expired", "log in again")
    query = select(ServerSession).where(col(ServerSession.digest) == _digest(token))
    found = session.exec(query).first()
    if found is None or found.ended_at is not None or _aware(found.expires_at) < utcnow():
        raise Unauthorized("session_expired", "this session has ended; log in again")
    return found


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def session_principal(session: Session, data: dict[str, object]) -> Principal:
    live = _live_session(session, data)
    if live.user_id is not None:
        return load_user_principal(session, live.user_id)
    if live.key_id is not None:
        return key_principal(session, live.key_id)
    raise Unauthorized("session_expired", "log in again")


def end_session(session: Session, data: dict[str, object]) -> None:
    """Log out: the session stops working at once, in every process."""
    with contextlib.suppress(Unauthorized):
        _live_session(session, data).ended_at = utcnow()


def end_sessions(session: Session, *, user_id: int | None = None, key_id: int | None = None) -> int:
    """End every live session of a user (new password, disabled) or of a key (revoked)."""
    owner = (
        col(ServerSession.user_id) == user_id
        if user_id is not None
        else col(ServerSession.key_id) == key_id
    )
    query = (
        update(ServerSession)
        .where(owner, col(ServerSession.ended_at).is_(None))
        .values(ended_at=utcnow())
    )
    return int(getattr(session.execute(query), "rowcount", 0) or 0)


def login_csrf_token(browser: str) -> str:
    """A signed token for the login form, bound to the browser's pre-session cookie value:
    a token lifted from another browser (or page) does not fit this one's cookie."""
    return _serializer("clearway-login").dumps(browser)


def check_login_csrf(token: str, browser: str | None) -> None:
    try:
        bound = _serializer("clearway-login").loads(token, max_age=3600)
    except BadSignature as exc:
        raise Forbidden("csrf_failed", "the form expired; reload and try again") from exc
    if not browser or not isinstance(bound, str) or not secrets.compare_digest(bound, browser):
        raise Forbidden("csrf_failed", "the form belongs to another browser; reload it")


def check_csrf(expected: object, presented: str | None) -> None:
    """Forms and cookie-authenticated writes must echo the session's CSRF token."""
    if not isinstance(expected, str) or not presented:
        raise Forbidden("csrf_failed", "missing CSRF token", field="csrf_token")
    if not secrets.compare_digest(expected, presented):
        raise Forbidden("csrf_failed", "wrong CSRF token", field="csrf_token")


def set_password(session: Session, username: str, password: str) -> User:
    """Replace a user's password (argon2id), e.g. when re-seeding the demo."""
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise NotFound("user_not_found", f"no user {username}", field="username")
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed.one(
            "password", "too_short", f"use at least {MIN_PASSWORD} characters"
        )
    user.password_hash = _hasher.hash(password)
    session.add(user)
    end_sessions(session, user_id=user.id)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id))))


def disable_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(col(User.username) == username)).first()
    if user is None:
        raise NotFound("user_not_found", f"no user {username}", field="username")
    user.disabled_at = user.disabled_at or utcnow()
    session.add(user)
    end_sessions(session, user_id=user.id)
    return user
