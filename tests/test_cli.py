"""The ``openline-bridge`` command, run as a real subprocess."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from openline_bridge.cli import EXIT_CONFIG, EXIT_FAILURE
from openline_bridge.store.database import Database
from openline_bridge.store.migrate import current_revision, head_revision

EXECUTABLE = str(Path(sys.executable).parent / "openline-bridge")
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def run(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with only ``env`` (plus PATH) as its environment."""
    return subprocess.run(
        [EXECUTABLE, *arguments],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def cli_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database URL for the CLI; on PostgreSQL a throw-away database (the CLI has no schema option)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cli.db'}"
        return
    name = f"olb_cli_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_migrate_then_check(settings_env: dict[str, str], cli_database_url: str) -> None:
    env = {**settings_env, "OLB_DATABASE_URL": cli_database_url}
    before = await asyncio.to_thread(run, env, "check")
    assert before.returncode == EXIT_FAILURE
    assert "run migrate" in before.stderr

    migrated = await asyncio.to_thread(run, env, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert f"database at revision {head_revision()}" in migrated.stdout
    again = await asyncio.to_thread(run, env, "migrate")
    assert again.returncode == 0, again.stderr

    after = await asyncio.to_thread(run, env, "check")
    assert after.returncode == 0, after.stderr
    assert "configuration ok" in after.stdout

    url = cli_database_url.replace("sqlite://", "sqlite+aiosqlite://").replace(
        "postgresql://", "postgresql+asyncpg://"
    )
    database = Database.connect(url)
    try:
        assert await current_revision(database) == head_revision()
    finally:
        await database.dispose()


def test_placeholder_config_exits_78(tmp_path: Path) -> None:
    example = Path(__file__).parents[1] / "src/openline_bridge/openline-bridge.example.toml"
    result = run({"OLB_DATA_DIR": str(tmp_path)}, "--config", str(example), "migrate")
    assert result.returncode == EXIT_CONFIG
    assert "OLB_SECRET_KEY (config file): placeholder value refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "openline-bridge.db").exists()


def test_missing_config_exits_78_via_environment(tmp_path: Path) -> None:
    result = run({"OLB_CONFIG": str(tmp_path / "nope.toml")}, "check")
    assert result.returncode == EXIT_CONFIG
    assert "cannot read" in result.stderr


def test_unreachable_database_is_a_clean_failure(settings_env: dict[str, str]) -> None:
    env = {**settings_env, "OLB_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    result = run(env, "migrate")
    assert result.returncode == EXIT_FAILURE
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("openline-bridge migrate:")


def test_usage_error_exits_2() -> None:
    assert run({}, "no-such-command").returncode == 2
