"""Apply a service's Alembic history at start-up, without an env.py per service.

Each service keeps only `migrations/versions/*.py`; this module plays the part of env.py,
so all nine histories run the same way (and the version table lives in the service's schema).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

__all__ = ["current_revision", "upgrade"]


def _script(migrations: Path) -> tuple[Config, ScriptDirectory]:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    versions = migrations / "versions"
    return cfg, ScriptDirectory(str(migrations), version_locations=[str(versions)])


def upgrade(connection: Connection, migrations: Path, schema: str | None) -> None:
    """Upgrade to head inside the caller's transaction (sync; run via `run_sync`)."""
    cfg, script = _script(migrations)

    def step(rev: Any, _: Any) -> Any:
        return script._upgrade_revs("heads", rev)

    with EnvironmentContext(cfg, script, fn=step, destination_rev="heads") as env:
        env.configure(
            connection=connection,
            version_table_schema=schema,
            transaction_per_migration=False,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        env.run_migrations()


def current_revision(connection: Connection, schema: str | None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    ctx = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return ctx.get_current_revision()
