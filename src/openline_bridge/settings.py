"""The bridge's configuration: the one place that reads the environment and the config file.

Sources, highest priority first: ``OLB_*`` environment variables, the TOML file named by ``--config`` or
``OLB_CONFIG``, then the defaults below (the shipped ``openline-bridge.example.toml`` documents each one).
In the file, a table's keys are prefixed with the table name: ``[b24] client_id`` is ``OLB_B24_CLIENT_ID``.
Missing, malformed or placeholder values raise ``ConfigError`` listing every problem by variable name.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from openline_bridge.errors import ConfigError

__all__ = ["B24App", "Settings", "load_settings"]

ENV_PREFIX = "OLB_"
CONFIG_ENV = "OLB_CONFIG"
_PLACEHOLDER = re.compile(
    r"^(|x+|todo|secret|changeme|example|<.*>)$|change[-_ ]?me|replace[-_ ]?me|your[-_ ]"
)


def _refuse_placeholder(value: str) -> str:
    if _PLACEHOLDER.search(value.strip().lower()):
        raise ValueError("placeholder value refused; set a real value")
    return value


def _refuse_secret_placeholder(value: SecretStr) -> SecretStr:
    _refuse_placeholder(value.get_secret_value())
    return value


RealStr = Annotated[str, AfterValidator(_refuse_placeholder)]
RealSecret = Annotated[SecretStr, AfterValidator(_refuse_secret_placeholder)]


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class B24App(BaseModel):
    """One Bitrix24 application (local app of one portal, or a marketplace app used by many)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: RealStr
    client_secret: RealSecret


class Settings(BaseSettings):
    """Every setting of the bridge; build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    public_url: str
    secret_key: RealSecret
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    data_dir: Path = Path("data")
    database_url: str | None = None
    redis_url: str | None = None
    files_dir: Path | None = None
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, gt=0)
    connector_id: str = Field(default="openline_bridge", pattern=r"^[a-z0-9_]{1,64}$")
    serve_worker: bool = True
    b24_client_id: RealStr | None = None
    b24_client_secret: RealSecret | None = None
    b24_apps: list[B24App] = Field(default_factory=list)
    b24_oauth_url: str | None = None
    b24_js_url: str = "//api.bitrix24.com/api/v1/"
    rate_limit_burst: int = Field(default=50, gt=0)
    rate_limit_per_second: float = Field(default=2.0, gt=0)
    worker_max_attempts: int = Field(default=12, ge=1)
    worker_messages_per_call: int = Field(default=25, ge=1, le=100)
    health_check_interval: float = Field(default=3600.0, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The config file arrives as init values; the environment overrides it.
        return env_settings, init_settings

    @field_validator("public_url")
    @classmethod
    def _public_url_reachable(cls, value: str) -> str:
        parts = urlsplit(_refuse_placeholder(value))
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute https:// URL")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("must use https (http is allowed only for loopback hosts)")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query or fragment")
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _secret_key_strong(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -base64 48`)")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_async_driver(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        drivers = {
            "sqlite": "sqlite+aiosqlite",
            "sqlite+aiosqlite": "sqlite+aiosqlite",
            "postgres": "postgresql+asyncpg",
            "postgresql": "postgresql+asyncpg",
            "postgresql+asyncpg": "postgresql+asyncpg",
        }
        if not sep or scheme not in drivers:
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return f"{drivers[scheme]}://{rest}"

    @field_validator("b24_oauth_url")
    @classmethod
    def _oauth_url_https(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
            raise ValueError("must be an https:// URL (http only for loopback hosts)")
        return value.rstrip("/")

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _apps_configured(self) -> Settings:
        self.apps  # noqa: B018 -- validates the pair and the list together
        return self

    @property
    def apps(self) -> list[B24App]:
        """Every configured Bitrix24 app: the single ``OLB_B24_CLIENT_ID`` pair first, then the list."""
        single: list[B24App] = []
        if self.b24_client_id is not None or self.b24_client_secret is not None:
            if self.b24_client_id is None or self.b24_client_secret is None:
                raise ValueError("b24_client_id and b24_client_secret must be set together")
            single = [B24App(client_id=self.b24_client_id, client_secret=self.b24_client_secret)]
        apps = single + self.b24_apps
        if not apps:
            raise ValueError(
                "no Bitrix24 application configured: set b24_client_id/b24_client_secret or b24_apps"
            )
        ids = [app.client_id for app in apps]
        if len(set(ids)) != len(ids):
            raise ValueError("the same client_id is configured twice")
        return apps

    def find_app(self, client_id: str) -> B24App | None:
        """The configured application with this ``client_id``, if any."""
        return next((app for app in self.apps if app.client_id == client_id), None)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to an SQLite file in ``data_dir``."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'openline-bridge.db').resolve()}"

    @property
    def resolved_files_dir(self) -> Path:
        """Where uploaded files are kept, defaulting to ``data_dir/files``."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"


def _flatten_file(document: dict[str, Any]) -> dict[str, Any]:
    """Turn ``[table] key = v`` into ``table_key = v`` (one level deep), keeping arrays of tables as lists."""
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            for inner_key, inner_value in value.items():
                flat[f"{key}_{inner_key}"] = inner_value
        else:
            flat[key] = value
    return flat


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return _flatten_file(tomllib.load(handle))
    except OSError as exc:
        raise ConfigError([f"config file {path}: cannot read ({exc.strerror})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"config file {path}: not valid TOML ({exc})"]) from exc


def _describe(error: dict[str, Any], from_file: set[str]) -> str:
    location = [str(part) for part in error["loc"]]
    field = location[0] if location else ""
    # The only model-level check is the set of Bitrix24 apps.
    where = f"{ENV_PREFIX}{field.upper()}" if field else "OLB_B24_CLIENT_ID/OLB_B24_APPS"
    if field in from_file:
        where += " (config file)"
    detail = ".".join(location[1:])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown setting"
    return f"{where}{'.' + detail if detail else ''}: {message}"


def load_settings(config_file: Path | None = None) -> Settings:
    """Read the configuration (environment over file over defaults) or raise ``ConfigError``."""
    if config_file is None and os.environ.get(CONFIG_ENV):
        config_file = Path(os.environ[CONFIG_ENV])
    file_values = _read_config_file(config_file) if config_file is not None else {}
    try:
        return Settings(**file_values)
    except SettingsError as exc:  # a complex value (e.g. OLB_B24_APPS) that is not valid JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"{ENV_PREFIX}{field.group(1).upper()}" if field else "environment"
        raise ConfigError([f"{name}: not valid JSON"]) from None
    except ValidationError as exc:
        problems = [_describe(dict(error), set(file_values)) for error in exc.errors()]
        raise ConfigError(problems) from None
