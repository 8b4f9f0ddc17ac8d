"""The tracker's catalogue in force for its subjects (tracker.store.catalogue.InForce): parsed once per version, and
a version published since (here or by another replica) is the one the next call gives."""

from __future__ import annotations

from pathlib import Path

from catalogue.loader import load_catalogue
from services.caller import Caller
from services.db import Database
from services.migrate import upgrade
from services.settings import KafkaSettings, Settings
from tracker.store import catalogue as versions

MIGRATIONS = Path(__file__).resolve().parents[3] / "tracker" / "migrations"


async def test_the_version_in_force_is_parsed_once_and_a_newer_one_replaces_it(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'tracker.db'}"
    db, settings = Database(url), Settings(database_url=url, kafka=KafkaSettings(bootstrap=None))
    await upgrade(db, "tracker", MIGRATIONS)
    in_force = versions.InForce()
    try:
        async with db.transaction() as session:
            first = await in_force(session, settings)  # the first call records the catalogue file
        async with db.transaction() as session:
            assert await in_force(session, settings) is first  # not read and parsed again
        document = load_catalogue(settings.catalogue).model_dump(mode="json")
        window = document["supervision"]["tiers"]["window_days"]
        document["supervision"]["tiers"]["window_days"] = window + 1
        async with db.transaction() as session:  # another replica (or the admin CLI) publishes a version
            await versions.publish(session, settings, document, caller=Caller("operator", "ops"), reason="test")
        async with db.transaction() as session:
            newer = await in_force(session, settings)
    finally:
        await db.dispose()

    assert newer is not first and newer.version != first.version
    assert newer.supervision.tiers.window_days == window + 1
