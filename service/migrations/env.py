"""Alembic environment: the URL and engine come from vimod's own configuration."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import make_url

from service.storage import Base, make_engine
from service.storage.tables import include_for

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_object=include_for(
            make_url(config.get_main_option("sqlalchemy.url")).get_backend_name()),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        # render_as_batch: SQLite can only ALTER TABLE by copying the table.
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True,
            include_object=include_for(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
