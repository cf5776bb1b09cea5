"""The key that signs session cookies: refused in production when guessable, made once for demos."""

from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

from kit.settings import Settings

# Values that have been public (the old default, the deploy/ example): anyone can sign with them.
KNOWN_SECRETS = frozenset({"", "dev-only-secret-change-me", "change-me-to-a-long-random-secret"})
MIN_SECRET_BYTES = 32
SECRET_FILE = "secret_key"


class InsecureSecret(RuntimeError):
    """A production start with a secret key anyone could know or guess."""


def secret_problem(secret: str) -> str | None:
    """Why this secret must not sign production sessions, or None when it may."""
    if secret in KNOWN_SECRETS:
        return "CLEARWAY_SECRET_KEY is unset or a published example value"
    if len(secret.encode()) < MIN_SECRET_BYTES:
        return f"CLEARWAY_SECRET_KEY is shorter than {MIN_SECRET_BYTES} bytes"
    return None


def check_production_secret(settings: Settings) -> None:
    """Refuse to start a production set-up (PostgreSQL or Redis) with a weak secret key."""
    if not settings.production:
        return
    problem = secret_problem(settings.secret_key)
    if problem:
        raise InsecureSecret(
            f"{problem}: anyone could sign an admin session. Set CLEARWAY_SECRET_KEY to a long "
            'random value, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"'
        )


def signing_secret(settings: Settings) -> str:
    """The configured key; the embedded default with none set uses one made for its data dir."""
    if settings.production or settings.secret_key not in KNOWN_SECRETS:
        return settings.secret_key
    return _data_dir_secret(settings.data_dir.resolve())


@cache
def _data_dir_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_FILE
    if not path.exists():
        _write_new(path)
    return path.read_text(encoding="ascii").strip()


def _write_new(path: Path) -> None:
    """Written 0600 beside it, then linked into place: no other user can read it even for a
    moment, no reader sees it half-written, and a concurrent first start that won keeps its key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        os.link(draft, path)
    except FileExistsError:
        pass  # another process made the key first: use theirs
    finally:
        draft.unlink()
