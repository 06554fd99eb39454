"""Settings: environment over file over defaults, several apps, and refusal of unusable values."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from openline_bridge.errors import ConfigError
from openline_bridge.settings import Settings, load_settings

EXAMPLE = files("openline_bridge").joinpath("openline-bridge.example.toml").read_text(encoding="utf-8")


def filled_example(tmp_path: Path) -> Path:
    """The shipped example with its placeholders replaced by real-looking values."""
    text = EXAMPLE.replace('"https://change-me.example"', '"https://chat.shop.test/"')
    text = text.replace('secret_key = "change-me"', 'secret_key = "' + "s" * 40 + '"')
    text = text.replace('client_id = "change-me"', 'client_id = "local.file.1"')
    text = text.replace('client_secret = "change-me"', 'client_secret = "file-secret-1"')
    path = tmp_path / "bridge.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(config_file: Path | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(config_file)
    return caught.value.problems


def test_environment_only(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLB_PUBLIC_URL", "http://localhost:8080/")
    monkeypatch.setenv("OLB_PORT", "9000")
    monkeypatch.setenv("OLB_LOG_LEVEL", "DEBUG")
    settings = load_settings()
    assert settings.public_url == "http://localhost:8080"
    assert settings.port == 9000
    assert settings.log_level == "debug"
    assert settings.connector_id == "openline_bridge"
    assert (settings.rate_limit_burst, settings.rate_limit_per_second) == (50, 2.0)
    data_dir = Path(settings_env["OLB_DATA_DIR"])
    assert (
        settings.resolved_database_url == f"sqlite+aiosqlite:///{(data_dir / 'openline-bridge.db').resolve()}"
    )
    assert settings.resolved_files_dir == data_dir / "files"
    assert [app.client_id for app in settings.apps] == ["local.test0001"]
    assert "test-client-secret-value" not in repr(settings)


def test_file_values_and_environment_override(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("OLB_PUBLIC_URL", "OLB_SECRET_KEY", "OLB_B24_CLIENT_ID", "OLB_B24_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("OLB_PORT", "9100")
    path = filled_example(tmp_path)
    settings = load_settings(path)
    assert settings.public_url == "https://chat.shop.test"
    assert settings.port == 9100
    assert settings.log_format == "json"
    assert [app.client_id for app in settings.apps] == ["local.file.1"]
    monkeypatch.setenv("OLB_CONFIG", str(path))
    assert load_settings().port == 9100


def test_several_apps_from_env_and_file(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "OLB_B24_APPS",
        json.dumps([{"client_id": "app.market", "client_secret": "market-secret"}]),
    )
    settings = load_settings()
    assert [app.client_id for app in settings.apps] == ["local.test0001", "app.market"]
    market = settings.find_app("app.market")
    assert market is not None
    assert market.client_secret.get_secret_value() == "market-secret"
    assert settings.find_app("other") is None

    monkeypatch.delenv("OLB_B24_APPS")
    path = tmp_path / "apps.toml"
    path.write_text(
        '[[b24.apps]]\nclient_id = "local.a"\nclient_secret = "sa-123"\n'
        '[[b24.apps]]\nclient_id = "local.b"\nclient_secret = "sb-123"\n',
        encoding="utf-8",
    )
    assert [app.client_id for app in load_settings(path).apps] == ["local.test0001", "local.a", "local.b"]


def test_untouched_example_is_refused(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OLB_PUBLIC_URL", "OLB_SECRET_KEY", "OLB_B24_CLIENT_ID", "OLB_B24_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    path = Path(str(files("openline_bridge").joinpath("openline-bridge.example.toml")))
    problems = "\n".join(problems_of(path))
    for name in ("OLB_PUBLIC_URL", "OLB_SECRET_KEY", "OLB_B24_CLIENT_ID", "OLB_B24_CLIENT_SECRET"):
        assert re.search(rf"{name} \(config file\)\S*: placeholder value refused", problems), name


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("OLB_PUBLIC_URL", "http://chat.shop.test", "must use https"),
        ("OLB_PUBLIC_URL", "chat.shop.test", "absolute https"),
        ("OLB_SECRET_KEY", "short-but-real-key", "at least 32"),
        ("OLB_SECRET_KEY", "change-me-" + "x" * 30, "placeholder"),
        ("OLB_B24_CLIENT_SECRET", "<your secret>", "placeholder"),
        ("OLB_CONNECTOR_ID", "my.connector", "pattern"),
        ("OLB_DATABASE_URL", "mysql://db/x", "sqlite:// or postgresql://"),
        ("OLB_PORT", "0", "greater than or equal to 1"),
        ("OLB_LOG_FORMAT", "xml", "json"),
        ("OLB_B24_APPS", '[{"client_id": "local.test0001", "client_secret": "s-123"}]', "twice"),
    ],
)
def test_bad_values_are_refused_by_name(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    [problem] = problems_of()
    assert expected in problem
    assert variable in problem


def test_missing_values_are_listed_together(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("OLB_PUBLIC_URL", "OLB_SECRET_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("OLB_B24_CLIENT_SECRET", "change-me")
    problems = problems_of()
    assert [p.split(":")[0] for p in problems] == [
        "OLB_PUBLIC_URL",
        "OLB_SECRET_KEY",
        "OLB_B24_CLIENT_SECRET",
    ]


def test_app_settings_must_be_complete(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLB_B24_CLIENT_SECRET")
    assert problems_of() == [
        "OLB_B24_CLIENT_ID/OLB_B24_APPS: b24_client_id and b24_client_secret must be set together"
    ]
    monkeypatch.delenv("OLB_B24_CLIENT_ID")
    assert "no Bitrix24 application configured" in problems_of()[0]


def test_apps_that_are_not_json_are_refused(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLB_B24_APPS", "client_id=x")
    assert problems_of() == ["OLB_B24_APPS: not valid JSON"]


def test_database_url_gets_the_async_driver(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLB_DATABASE_URL", "postgres://bridge@db:5432/bridge")
    assert load_settings().resolved_database_url == "postgresql+asyncpg://bridge@db:5432/bridge"


def test_file_errors(settings_env: dict[str, str], tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("prot = 1\n", encoding="utf-8")
    assert problems_of(unknown) == ["OLB_PROT (config file): unknown setting"]
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n", encoding="utf-8")
    assert "not valid TOML" in problems_of(broken)[0]
    assert "cannot read" in problems_of(tmp_path / "missing.toml")[0]


def test_example_documents_every_setting_with_its_default() -> None:
    document = tomllib.loads(EXAMPLE)
    flat = {
        f"{table}_{key}" if isinstance(inner, dict) else table: value
        for table, inner in document.items()
        for key, value in (inner.items() if isinstance(inner, dict) else [(table, inner)])
    }
    for name, field in Settings.model_fields.items():
        if name in flat:
            if field.is_required() or name.endswith(("client_id", "client_secret")):
                continue
            default = field.default
            assert flat[name] == (str(default) if isinstance(default, Path) else default), name
        else:
            table, _, key = name.partition("_")
            commented = rf"^# {name} = |^# {key} = |^# \[\[{table}\.{key}\]\]"
            assert re.search(commented, EXAMPLE, re.M), f"{name} is not documented in the example"


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("https://oauth.bitrix.info/", True),
        ("http://127.0.0.1:9000", True),
        ("http://oauth.bitrix.info", False),
    ],
)
def test_oauth_url(
    settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, value: str, accepted: bool
) -> None:
    monkeypatch.setenv("OLB_B24_OAUTH_URL", value)
    if accepted:
        assert load_settings().b24_oauth_url == value.rstrip("/")
    else:
        assert "OLB_B24_OAUTH_URL" in problems_of()[0]
