"""Accounts: roles, password hashes and the login rate limit. Pure: no database, no web framework.

Passwords are hashed with scrypt (RFC 7914, in the standard library), each with its own random salt; the stored
form names its parameters so they can be raised later without breaking older hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from painpoint.errors import PainpointError


class Role(StrEnum):
    """What an account may do."""

    COACH = "coach"
    """Assigns scenarios, authors personas, reviews and overrides the attempts of their own learners."""
    LEARNER = "learner"
    """Practises: their own assignments and attempts, nothing else."""


class Account(BaseModel):
    """A user as the app sees them (never with the password hash)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    role: Role
    provider: str = "password"
    """How they signed in: password, header (a single-sign-on proxy) or local (no accounts configured)."""


LOCAL = Account(name="local", role=Role.LEARNER, provider="local")
"""The single user of an installation with no accounts."""


class AccountError(PainpointError):
    """A user name, role or password that can't be accepted."""


_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,62}$")
MIN_PASSWORD = 10

# scrypt cost: 16 MiB and ~50 ms per hash on a laptop core (OWASP's floor is N=2^17 with r=8 for new systems
# but that is 128 MiB per login attempt, which a small server can't afford under a burst).
_N, _R, _P = 2**14, 8, 1


def check_name(name: str) -> str:
    """A valid account name (lower case), or AccountError saying what is wrong."""
    cleaned = name.strip().lower()
    if not _NAME.match(cleaned):
        raise AccountError(
            f"{name!r} is not a usable name: 2 to 63 characters, letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or digit."
        )
    if cleaned == LOCAL.name:
        raise AccountError("'local' is reserved for the installation without accounts.")
    return cleaned


def check_password(password: str) -> str:
    """The password if it is acceptable, else AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password is too short: at least {MIN_PASSWORD} characters.")
    if len(password) > 1024:
        raise AccountError("The password is too long: at most 1024 characters.")
    return password


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    # Strict: a stray character is an error, not silently skipped (which would shorten the digest compared).
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def hash_password(password: str) -> str:
    """A salted scrypt hash in the form `scrypt$N$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether the password matches the stored hash (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        if len(expected) != 32:
            return False
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError, binascii.Error):
        return False
    return hmac.compare_digest(actual, expected)


# A hash to verify against when the user does not exist, so that a login for an unknown name costs as much as
# one for a known name and timing does not reveal which names exist.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class SignInPolicy:
    """How failed sign-ins for one key (a user name, a client address) lock it out.

    After `free` failures within `window` seconds, the key waits `base` seconds after its latest failure, doubling
    with each further failure up to `ceiling`. A success clears the key. The failures themselves are kept in the
    database, so every process behind a proxy counts the same ones.
    """

    free: int = 5
    base: float = 30.0
    ceiling: float = 900.0
    window: float = 900.0

    def retry_after(self, failures: list[float], now: float) -> float:
        """Seconds until the key may try again (0 when it may try now), given its failure times (epoch seconds)."""
        recent = sorted(t for t in failures if now - t < self.window)
        excess = len(recent) - self.free
        if excess < 0:
            return 0.0
        lockout = min(self.ceiling, self.base * 2**excess)
        return float(max(0.0, recent[-1] + lockout - now))


def join_code() -> str:
    """A join code a coach can hand out: 8 characters without look-alikes (no 0/O, 1/I/L)."""
    alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))
