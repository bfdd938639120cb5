"""What the web app's handlers share: the library, settings, database, and who is signed in.

Roles are read from the database on every call, never from the session token, so a deleted account or a token
minted before accounts existed stops working at once.
"""

from __future__ import annotations

import logging
from typing import Any

import chainlit as cl

from painpoint.coaching.accounts import LOCAL, Account
from painpoint.coaching.records import Records
from painpoint.resources import user_home
from painpoint.scenario.library import Library, load_library
from painpoint.settings import Settings, load_settings
from painpoint.web.store import Store, database_url

log = logging.getLogger("painpoint.web.app")

LIBRARY: Library = load_library()
for _error in LIBRARY.errors:
    log.warning("persona skipped: %s", _error)
STORE = Store(database_url(user_home()))
RECORDS: Records = STORE.records
SETTINGS: Settings = load_settings()


async def local_mode() -> bool:
    """Whether the app runs for one local user (no accounts and no sign-on proxy)."""
    await STORE.create_schema()
    return SETTINGS.auth == "auto" and await RECORDS.count_accounts() == 0


async def account_of(user: Any) -> Account | None:
    """The account behind a Chainlit user, or None when it is not (or no longer) valid."""
    if user is None:
        return None
    identifier = getattr(user, "identifier", None)
    if identifier == LOCAL.name:
        return LOCAL if await local_mode() else None
    await STORE.create_schema()
    found = await RECORDS.account(str(identifier))
    return found[0] if found else None


async def current_account() -> Account | None:
    """The account of the current websocket session."""
    return await account_of(cl.context.session.user)


async def refuse_session() -> None:
    """Tell a session whose account is gone (or predates accounts) to sign in again."""
    await cl.Message(
        content="Your sign-in is no longer valid here (accounts were added or yours was removed). "
        "Sign out from the menu at the top right and sign in again.",
        author="painpoint",
    ).send()
