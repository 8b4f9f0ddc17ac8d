"""Start-up of the auth kit: its migrations, and the first admin key of a fresh `caseroute run`."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from services.auth.keys import any_key, create_key
from services.db import Database
from services.principal import Caller
from services.settings import AuthSettings

AUTH_MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


async def bootstrap_admin_key(db: Database, settings: AuthSettings) -> None:
    """With CASEROUTE_AUTH_BOOTSTRAP_ADMIN_FILE set and no key yet: create an admin key, write it there (0600).

    `caseroute run` sets it (var/admin.key), so a new embedded install can be used at once; distributed
    deployments create their first key with `caseroute keys create` instead.
    """
    target = settings.bootstrap_admin_file
    if target is None or await any_key(db):
        return
    key = await create_key(db, role="admin", name="bootstrap", by=Caller("admin", "bootstrap"),
                           description="created at first start")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.secret + "\n")
    log.warning("no API key existed: created admin key %s, written to %s (only there)", key.key_id, target)
