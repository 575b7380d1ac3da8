"""The Alembic migrations build exactly the schema the code declares, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.storage import Base
from service.storage.migrate import downgrade, upgrade


def test_migrations_match_tables(engine) -> None:  # noqa: ANN001
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(database_url, engine) -> None:  # noqa: ANN001
    engine.dispose()
    downgrade(database_url, "base")
    upgrade(database_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
