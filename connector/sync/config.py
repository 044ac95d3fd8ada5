"""``connector.yaml``: which CRMs to sync, how often, how fast, and where the state lives.

Loaded once at start with :func:`load_config`, through :mod:`connector.yamlfile`, so every mistake
is reported as ``connector.yaml:12: crms[0].credentials.access_token: ...``. Relative paths
(mapping and model files) are resolved against the folder of the config file, so the connector
can be started from anywhere. Secrets never appear in this file: it holds the *names* of the
environment variables that carry them, and the values are read only when an adapter is built
(:mod:`connector.sync.adapters_factory`).
"""

from __future__ import annotations

import os
import pathlib
import re
import typing as t

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.yamlfile import FileProblem, LocatedError, YamlFileError, line_of, load_yaml, load_yaml_model

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "BatchConfig",
    "CRMConfig",
    "ConnectorConfig",
    "LeaseConfig",
    "RateLimitConfig",
    "ScheduleConfig",
    "config_path",
    "load_config",
    "validate_config",
]

DEFAULT_CONFIG_PATH = "connector.yaml"
DEFAULT_DATABASE_URL = "sqlite:///connector.db"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CRM_NAME = re.compile(r"^[a-z][a-z0-9_\-]*$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt key must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _env_name(value: str, what: str) -> str:
    """Accept an environment variable *name*; refuse anything that looks like a pasted secret.

    The message never repeats the value: it may be a token.
    """
    if not _ENV_NAME.match(value):
        raise ValueError(f"{what} must be the NAME of an environment variable (e.g. HUBSPOT_ACCESS_TOKEN), not the secret itself")
    return value


class ScheduleConfig(_Strict):
    """When ``connector run`` syncs this CRM: every ``interval_minutes`` or on a ``cron`` line.

    ``full_rescore_at`` (``HH:MM``, in ``timezone``) adds a daily full rescore, the safety net for
    decay; ``null`` turns it off.
    """

    interval_minutes: float | None = Field(default=None, gt=0)
    cron: str | None = None
    full_rescore_at: str | None = "03:00"
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _check(self) -> ScheduleConfig:
        if self.interval_minutes is not None and self.cron is not None:
            raise LocatedError(("cron",), "give either 'interval_minutes' or 'cron', not both")
        if self.cron is not None:
            from apscheduler.triggers.cron import CronTrigger

            try:
                CronTrigger.from_crontab(self.cron, timezone=self.timezone)
            except ValueError as exc:
                raise LocatedError(("cron",), f"invalid cron line {self.cron!r}: {exc}") from None
        if self.full_rescore_at is not None and not _HHMM.match(self.full_rescore_at):
            raise LocatedError(("full_rescore_at",), f"expected HH:MM (24-hour), got {self.full_rescore_at!r}")
        try:
            import zoneinfo

            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise LocatedError(("timezone",), f"unknown time zone {self.timezone!r} (use an IANA name such as Europe/Berlin)") from None
        return self

    @property
    def every_minutes(self) -> float | None:
        """The interval in minutes, with the default of 15 when neither key is given."""
        if self.cron is not None:
            return None
        return self.interval_minutes if self.interval_minutes is not None else 15.0


class RateLimitConfig(_Strict):
    """Client-side limits; HubSpot's defaults are 190 requests per 10 s and 5 searches per second.

    ``daily`` caps the requests of one day (Salesforce's allowance); ``null`` means no cap. The
    limiter also adapts down to what the CRM's rate-limit headers announce.
    """

    requests: int = Field(default=190, gt=0)
    per_seconds: float = Field(default=10.0, gt=0)
    searches_per_second: float = Field(default=5.0, gt=0)
    daily: int | None = Field(default=None, gt=0)


class BatchConfig(_Strict):
    """Sizes of the pipeline's steps.

    ``push_size`` is capped by what the adapter allows (HubSpot 100, Salesforce 200).
    ``score_chunk`` contacts are scored and committed per transaction (contacts pulled new or
    changed are scored page by page as they arrive). A chunk or page of at least
    ``batch_scorer_min`` contacts is scored by the vectorised batch scorer (same results, faster).
    Once a run has staged ``push_process_after`` contacts, its push continues in a separate process
    (see :mod:`connector.sync.push_process`).
    """

    push_size: int = Field(default=100, gt=0)
    score_chunk: int = Field(default=1000, gt=0)
    batch_scorer_min: int = Field(default=50, gt=0)
    max_push_attempts: int = Field(default=5, gt=0)
    #: Contacts staged in one run after which the push moves from a thread to its own process
    #: (a second CPU core; costs a second or two to start). 0: always push on a thread.
    push_process_after: int = Field(default=5000, ge=0)


class LeaseConfig(_Strict):
    """One instance per CRM at a time: a lease row that expires after ``ttl_seconds`` unless renewed.

    ``wait_seconds``: how long a second instance waits for the lease before exiting with a message.
    """

    ttl_seconds: float = Field(default=120.0, gt=0)
    wait_seconds: float = Field(default=0.0, ge=0)


class CRMConfig(_Strict):
    """One CRM to sync. Several entries may use the same adapter (e.g. two HubSpot portals)."""

    name: str
    adapter: t.Literal["hubspot", "salesforce"]
    mapping: pathlib.Path
    models: list[pathlib.Path] = Field(min_length=1)
    #: credential role (e.g. ``access_token``) -> NAME of the environment variable holding it.
    credentials: dict[str, str] = Field(default_factory=dict)
    #: NAME of the environment variable with the API base URL (sandbox or vendor default).
    base_url_env: str | None = None
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    #: Re-read this many minutes before the cursors, for records that landed late in the CRM.
    overlap_minutes: float | None = Field(default=None, ge=0)
    #: Longest reasons summary written to the CRM (text property limit); default per adapter.
    reasons_max_chars: int | None = Field(default=None, gt=10)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _CRM_NAME.match(value):
            raise ValueError(f"CRM name {value!r} must be lower-case letters, digits, '_' or '-', starting with a letter")
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            _env_name(name, f"credentials.{role}")
        return value

    @field_validator("base_url_env")
    @classmethod
    def _base_url_env(cls, value: str | None) -> str | None:
        return None if value is None else _env_name(value, "base_url_env")

    @property
    def reasons_limit(self) -> int:
        """Characters of reasons summary the CRM's text field takes (Salesforce text: 255)."""
        if self.reasons_max_chars is not None:
            return self.reasons_max_chars
        return 255 if self.adapter == "salesforce" else 500


class ConnectorConfig(_Strict):
    """The whole ``connector.yaml``."""

    crms: list[CRMConfig] = Field(min_length=1)
    #: SQLAlchemy URL of the state store; the ``DATABASE_URL`` environment variable overrides it.
    database_url: str = DEFAULT_DATABASE_URL
    log_format: t.Literal["text", "json"] = "text"
    log_level: t.Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    overlap_minutes: float = Field(default=10.0, ge=0)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    lease: LeaseConfig = Field(default_factory=LeaseConfig)
    #: Optional ``.env`` file (relative to this file) read for credentials not in the environment.
    env_file: pathlib.Path | None = None
    #: Folder of the config file; filled in by :func:`load_config`, not written by admins.
    base_dir: pathlib.Path = Field(default=pathlib.Path("."), exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> ConnectorConfig:
        seen: set[str] = set()
        for i, crm in enumerate(self.crms):
            if crm.name in seen:
                raise LocatedError(("crms", i, "name"), f"CRM name '{crm.name}' is used twice")
            seen.add(crm.name)
        return self

    def crm(self, name: str | None) -> CRMConfig:
        """The CRM entry called ``name`` (``None``: the only one), with a clear error otherwise."""
        if name is None:
            if len(self.crms) == 1:
                return self.crms[0]
            raise KeyError(f"several CRMs are configured ({', '.join(c.name for c in self.crms)}): choose one with --crm")
        for crm in self.crms:
            if crm.name == name:
                return crm
        raise KeyError(f"no CRM named '{name}' in the config (configured: {', '.join(c.name for c in self.crms)})")

    def effective_database_url(self, environ: t.Mapping[str, str] | None = None) -> str:
        """``DATABASE_URL`` from the environment if set, else the config's value.

        A relative SQLite path is taken relative to the config file's folder.
        """
        env = os.environ if environ is None else environ
        url = env.get("DATABASE_URL") or self.database_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://" and ":memory:" not in url:
            url = prefix + str((self.base_dir / url[len(prefix):]).resolve())
        return url

    def overlap_for(self, crm: CRMConfig) -> float:
        """Overlap window in minutes for ``crm`` (its own value, else the global one)."""
        return crm.overlap_minutes if crm.overlap_minutes is not None else self.overlap_minutes


def config_path(explicit: str | os.PathLike[str] | None = None, environ: t.Mapping[str, str] | None = None) -> pathlib.Path:
    """Where the config is: ``--config``, else ``CONNECTOR_CONFIG``, else ``./connector.yaml``."""
    env = os.environ if environ is None else environ
    return pathlib.Path(explicit or env.get("CONNECTOR_CONFIG") or DEFAULT_CONFIG_PATH)


def load_config(path: str | os.PathLike[str]) -> ConnectorConfig:
    """Load and validate ``connector.yaml``; relative paths become absolute against its folder.

    Raises:
        connector.yamlfile.YamlFileError: every problem, each with file, line and key.
    """
    path = pathlib.Path(path)
    config = load_yaml_model(path, ConnectorConfig, what="connector config")
    base = path.resolve().parent

    def absolute(p: pathlib.Path) -> pathlib.Path:
        return p if p.is_absolute() else (base / p)

    crms = [
        crm.model_copy(update={"mapping": absolute(crm.mapping), "models": [absolute(m) for m in crm.models]})
        for crm in config.crms
    ]
    env_file = absolute(config.env_file) if config.env_file is not None else None
    _check_files_exist(path, crms)
    return config.model_copy(update={"crms": crms, "base_dir": base, "env_file": env_file})


def _check_files_exist(path: pathlib.Path, crms: t.Sequence[CRMConfig]) -> None:
    """Name every missing mapping or model file with the line of the config that names it."""
    missing: list[tuple[tuple[t.Any, ...], pathlib.Path]] = []
    for i, crm in enumerate(crms):
        if not crm.mapping.is_file():
            missing.append((("crms", i, "mapping"), crm.mapping))
        for j, model in enumerate(crm.models):
            if not model.is_file():
                missing.append((("crms", i, "models", j), model))
    if not missing:
        return
    _, node = load_yaml(path)
    problems = [
        FileProblem(str(path), line_of(node, loc), _dotted(loc), f"file not found: {file}") for loc, file in missing
    ]
    raise YamlFileError(problems)


def _dotted(loc: t.Sequence[t.Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validate_config(path: str | os.PathLike[str]) -> str:
    """Deep check for ``connector validate``: the config, every model it names, every mapping.

    Returns a one-line description; raises :class:`YamlFileError` listing every problem of every
    file, each with its file, line and key.
    """
    from connector.scoring.loader import load_models

    config = load_config(path)
    problems: list[FileProblem] = []
    for crm in config.crms:
        try:
            load_models(crm.models)
        except YamlFileError as exc:
            problems += exc.problems
        try:
            from connector.adapters import load_mapping
        except ImportError:
            continue
        try:
            load_mapping(crm.mapping)
        except YamlFileError as exc:
            problems += exc.problems
    if problems:
        raise YamlFileError(problems)
    return f"connector config: {len(config.crms)} CRM(s): " + ", ".join(f"{c.name} ({c.adapter}, {len(c.models)} model(s))" for c in config.crms)
