"""`clearway users …` and the demo's page logins (API keys stay under `clearway keys`)."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from kit.auth import Role, User, create_key, create_user, disable_user, list_users, set_password
from kit.db import session_scope

users_app = typer.Typer(help="Page users (user name and password, argon2id).")
console = Console()


@users_app.command("create")
def users_create(
    username: str,
    role: Role,
    merchant_id: int | None = None,
    warehouse: Annotated[list[str] | None, typer.Option(help="Warehouse code(s)")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password as one line of stdin")
    ] = False,
) -> None:
    """Create a user who logs into the pages; the password is asked for (or read from stdin),
    never taken from the command line, where `ps` and the shell history would keep it."""
    password = read_password(password_stdin)
    with session_scope() as session:
        user = create_user(
            session,
            username=username,
            password=password,
            role=role,
            merchant_id=merchant_id,
            warehouse_codes=tuple(warehouse or ()),
        )
    console.print(f"user {user.id} {username} ({role.value}) created")


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("list")
def users_list() -> None:
    """List users (never their password hashes)."""
    table = Table("id", "user", "role", "merchant", "warehouses", "last login", "disabled")
    with session_scope() as session:
        for user in list_users(session):
            table.add_row(
                str(user.id),
                user.username,
                user.role,
                str(user.merchant_id or ""),
                user.warehouse_codes,
                str(user.last_login_at or ""),
                str(user.disabled_at or ""),
            )
    console.print(table)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable a user at once (their sessions stop working)."""
    with session_scope() as session:
        disable_user(session, username)
    console.print(f"user {username} disabled")


def _ensure_user(session: Session, username: str, role: Role, merchant_id: int | None) -> str:
    password = secrets.token_urlsafe(9)
    if session.exec(select(User).where(col(User.username) == username)).first():
        set_password(session, username, password)
    else:
        create_user(
            session, username=username, password=password, role=role, merchant_id=merchant_id
        )
    return password


def demo_identities(merchant_id: int, merchant_code: str) -> list[tuple[str, str]]:
    """Lines for var/demo-keys.txt: a merchant key, and page logins for an admin and a merchant."""
    merchant_user = f"merchant-{merchant_code.lower()}"
    with session_scope() as session:
        _, key = create_key(
            session,
            label=f"demo-merchant-{merchant_code}",
            role=Role.merchant,
            merchant_id=merchant_id,
        )
        _, broker = create_key(
            session, label="demo-broker-HZ-NB", role=Role.broker, warehouse_codes=("HZ", "NB")
        )
        admin_password = _ensure_user(session, "admin", Role.admin, None)
        merchant_password = _ensure_user(session, merchant_user, Role.merchant, merchant_id)
    return [
        (f"merchant-{merchant_code}", key),
        ("broker-HZ-NB", broker),
        ("user", f"admin {admin_password}"),
        ("user", f"{merchant_user} {merchant_password}"),
    ]
