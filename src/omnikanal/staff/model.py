"""Staff users and their console sessions (types, no I/O)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from omnikanal.auth.model import ROLES, Principal, store_binding_error
from omnikanal.errors import InvalidInput

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
MAX_PASSWORD_CHARS = 1000  # argon2 takes any length; a cap keeps a login request cheap


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: str
    username: str
    role: str
    store_id: str | None
    disabled: bool
    created_at: datetime

    def principal(self) -> Principal:
        return Principal(self.id, self.username, self.role, store_id=self.store_id, kind="staff")


@dataclass(frozen=True, slots=True)
class Session:
    """A live console session: who, and the token its forms and scripts must send back."""

    user: StaffUser
    csrf_token: str
    expires_at: datetime


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise InvalidInput(
            "invalid_username",
            "username must be 2 to 100 characters: lower-case letters, digits, '.', '_' or '-'",
            "username",
        )
    return name


def check_role(role: str, store_id: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput("invalid_role", f"role must be one of: {', '.join(ROLES)}", "role")
    problem = store_binding_error(role, store_id)
    if problem is not None:
        raise InvalidInput("store_required" if role == "store" else "store_not_allowed", problem, "store")


def check_password(password: str, min_length: int) -> None:
    if len(password) < min_length:
        raise InvalidInput(
            "weak_password", f"password must be at least {min_length} characters long", "password"
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(
            "invalid_password", f"password must be at most {MAX_PASSWORD_CHARS} characters long", "password"
        )
