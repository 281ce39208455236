"""Alembic's environment for the registry: migrate the connection podium hands over.

``podium.registry.migrate`` passes an open connection, inside the transaction (and lock) it
holds, as ``config.attributes["connection"]``; otherwise ``sqlalchemy.url`` is used (for
``alembic -x`` use by developers, and offline ``--sql`` output).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from podium.registry.engine import create_registry_engine
from podium.registry.tables import registry_metadata

config = context.config
target_metadata = registry_metadata()


def _migrate(connection: Connection) -> None:
    # batch mode: SQLite changes most columns and constraints by copying the table
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def _run() -> None:
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                          literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_registry_engine(config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as conn:
            _migrate(conn)
    finally:
        engine.dispose()


_run()
