"""``connector.yaml``: which CRMs to sync, how often, how fast, and where the state lives.

Loaded once at start with :func:`load_config`, through :mod:`connector.yamlfile`, so every mistake
is reported as ``connector.yaml:12: crms[0].credentials.access_token: ...``. Relative paths
(mapping and model files) are resolved against the folder of the config file, so the connector
can be started from anywhere. Secrets never appear in this file: it holds the *names* of the
environment variables that carry them, and the values are read only when an adapter is built
(:mod:`connector.sync.connect`). Each entry's ``adapter`` is a name of the adapter registry
(:mod:`connector.adapters`) or the dotted path of an adapter package; what the entry leaves out
(rate limits, the longest text) comes from that adapter's declaration.

:func:`write_config` writes a valid file for given entries (the demo, the benchmarks and the tests
use it).
"""

from __future__ import annotations

import os
import pathlib
import re
import typing as t

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connector.adapters import REGISTRY, UnknownAdapter, adapter_spec
from connector.adapters.base import AdapterSpec, RateLimits
from connector.sync.write_policy import OutputPolicy, policy_problems
from connector.yamlfile import FileProblem, LocatedError, YamlFileError, line_of, load_yaml, load_yaml_model

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_DATABASE_URL",
    "BatchConfig",
    "CRMConfig",
    "ConnectorConfig",
    "LearnConfig",
    "LeaseConfig",
    "RateLimitConfig",
    "ScheduleConfig",
    "ServeConfig",
    "WebhookConfig",
    "config_path",
    "crm_entry",
    "load_config",
    "validate_config",
    "write_config",
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
        raise ValueError(f"{what} must be the NAME of an environment variable (e.g. CRM_ACCESS_TOKEN), not the secret itself")
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
    """Client-side limits; each key left out takes the adapter's declared default.

    ``daily`` caps the requests of one day (Salesforce's allowance). The limiter also adapts down
    to what the CRM's answers announce.
    """

    requests: int | None = Field(default=None, gt=0)
    per_seconds: float | None = Field(default=None, gt=0)
    searches_per_second: float | None = Field(default=None, gt=0)
    daily: int | None = Field(default=None, gt=0)

    def over(self, defaults: RateLimits) -> RateLimits:
        """The limits to apply: these values where given, the adapter's defaults elsewhere."""
        return RateLimits(
            requests=self.requests if self.requests is not None else defaults.requests,
            per_seconds=self.per_seconds if self.per_seconds is not None else defaults.per_seconds,
            searches_per_second=self.searches_per_second if self.searches_per_second is not None else defaults.searches_per_second,
            daily=self.daily if self.daily is not None else defaults.daily,
            unannounced=defaults.unannounced,
        )


class BatchConfig(_Strict):
    """Sizes of the pipeline's steps.

    ``push_size`` is capped by what the adapter takes per push call (HubSpot 100, Salesforce
    ``push.max_push`` of its mapping, 10,000); left out, the adapter's largest.
    ``score_chunk`` contacts are scored and committed per transaction (contacts pulled new or
    changed are scored page by page as they arrive). A chunk or page of at least
    ``batch_scorer_min`` contacts is scored by the vectorised batch scorer (same results, faster).
    Once a run has scored ``score_worker_after`` contacts, it scores on in a worker process (a
    second CPU core; see :mod:`connector.sync.score_worker`).
    """

    push_size: int | None = Field(default=None, gt=0)
    score_chunk: int = Field(default=1000, gt=0)
    batch_scorer_min: int = Field(default=50, gt=0)
    max_push_attempts: int = Field(default=5, gt=0)
    #: Contacts scored in one run after which the scoring moves to a worker process (a second CPU
    #: core; a second or two to start). 0: always score in the run's own process.
    score_worker_after: int = Field(default=5000, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _removed(cls, data: t.Any) -> t.Any:
        if isinstance(data, dict) and "push_process_after" in data:
            raise LocatedError(
                ("push_process_after",),
                "this key was removed: the push runs on one thread of the sync and needs no setting; delete the line",
            )
        return data


class LeaseConfig(_Strict):
    """One instance per CRM at a time: a lease row that expires after ``ttl_seconds`` unless renewed.

    ``wait_seconds``: how long a second instance waits for the lease before exiting with a message.
    """

    ttl_seconds: float = Field(default=120.0, gt=0)
    wait_seconds: float = Field(default=0.0, ge=0)


class WebhookConfig(_Strict):
    """``webhook`` trigger actions: how they are signed and retried (see docs/sync.md, "Webhooks")."""

    #: NAME of the environment (or ``.env``) variable holding the HMAC-SHA256 signing secret.
    secret_env: str = "CONNECTOR_WEBHOOK_SECRET"  # noqa: S105 - a variable name, not a secret
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: Tries per run (1 + retries) on a connection error, a timeout, 408, 429 or 5xx.
    attempts: int = Field(default=4, ge=1, le=10)
    #: First wait between tries; doubles each time (at most 30 s).
    backoff_seconds: float = Field(default=0.5, ge=0)

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        return _env_name(value, "webhooks.secret_env")


class LearnConfig(_Strict):
    """``connector learn --crm``: learning a model from this CRM's own outcomes (see docs/learning.md).

    The learned model lives at ``path`` (its name is the file's stem); list that file under
    ``models`` to score with it. New models are written as drafts beside it (``drafts/``) and only
    replace it when promoted: by ``connector models promote``, or automatically when the draft's
    held-out ROC AUC beats the current model's by ``promote_margin``.
    """

    path: pathlib.Path
    #: Outcome kinds counted as converted (``customer``, ``closed_won``, ``converted``); empty: any.
    label: list[t.Literal["customer", "closed_won", "converted"]] = Field(default_factory=list)
    #: Learn on the schedule, after a scheduled sync, at most once per this many days; ``null``: only by hand.
    every_days: float | None = Field(default=None, gt=0)
    #: Promote a draft automatically when its held-out ROC AUC is at least this much above the
    #: current model's on the same contacts; ``null``: never automatically.
    promote_margin: float | None = Field(default=None, ge=0, lt=1)
    seed: int = 0
    folds: int = Field(default=5, ge=2, le=20)
    trees: int = Field(default=200, ge=1)
    #: Contact properties never to learn from.
    exclude: list[str] = Field(default_factory=list)


class ServeConfig(_Strict):
    """``connector serve``: where it listens, what it accepts, how it processes events.

    ``public_base_url``: the scheme and host the CRM calls (``https://connector.example.com``)
    when a reverse proxy sits in front; webhook signatures cover the full URI as the CRM called it.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Server processes (each runs its own event workers; the lease keeps them from writing at once).
    workers: int = Field(default=1, ge=1, le=64)
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+(/[^\s]*)?$")
    #: Largest request body accepted (bytes); larger: 413.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=50_000_000)
    #: Most events in one ``POST /events`` request; more: 413.
    max_events_per_request: int = Field(default=100, ge=1, le=10_000)
    #: Requests per minute an API key may send unless the key says otherwise.
    key_rate_per_minute: int = Field(default=600, ge=1)
    #: Most stored events a worker processes in one run.
    batch_limit: int = Field(default=500, ge=1, le=10_000)
    #: Seconds events may gather before a worker run that is not full starts (each run costs at
    #: least two CRM calls: fewer, larger runs spend less of the CRM's budget).
    batch_wait_seconds: float = Field(default=0.5, ge=0, le=60)


class CRMConfig(_Strict):
    """One CRM to sync. Several entries may use the same adapter (e.g. two HubSpot portals)."""

    name: str
    #: A registered adapter name (``hubspot``) or the dotted path of an adapter package.
    adapter: str
    mapping: pathlib.Path
    models: list[pathlib.Path] = Field(min_length=1)
    #: credential role (e.g. ``access_token``) -> NAME of the environment variable holding it.
    credentials: dict[str, str] = Field(default_factory=dict)
    #: NAME of the environment variable with the API base URL (sandbox or vendor default).
    base_url_env: str | None = None
    #: NAME of the environment variable with a CA bundle path (a sandbox served over HTTPS).
    ca_bundle_env: str | None = None
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    #: Re-read this many minutes before the cursors, for records that landed late in the CRM.
    overlap_minutes: float | None = Field(default=None, ge=0)
    #: Longest reasons summary written to the CRM (text property limit); default per adapter.
    reasons_max_chars: int | None = Field(default=None, gt=10)
    #: Learning from this CRM's outcomes (``connector learn --crm``); ``null``: not configured.
    learn: LearnConfig | None = None
    #: Signing and retrying of ``webhook`` trigger actions.
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    #: Output name -> when it is worth a write (:mod:`connector.sync.write_policy`); others: every change.
    write_policy: dict[str, OutputPolicy] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _CRM_NAME.match(value):
            raise ValueError(f"CRM name {value!r} must be lower-case letters, digits, '_' or '-', starting with a letter")
        return value

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str) -> str:
        if value not in REGISTRY:
            try:
                adapter_spec(value)  # a package named by its dotted path: importable, with ADAPTER
            except UnknownAdapter as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            _env_name(name, f"credentials.{role}")
        return value

    @field_validator("base_url_env", "ca_bundle_env")
    @classmethod
    def _variable(cls, value: str | None, info: t.Any) -> str | None:
        return None if value is None else _env_name(value, info.field_name)

    @property
    def spec(self) -> AdapterSpec:
        """The adapter's declaration (its package is imported on first use)."""
        return adapter_spec(self.adapter)

    @property
    def reasons_limit(self) -> int:
        """Characters of reasons summary the CRM's text fields take (the adapter's longest text by default)."""
        return self.reasons_max_chars if self.reasons_max_chars is not None else self.spec.max_text_length

    @property
    def limits(self) -> RateLimits:
        """The rate limits to apply: ``rate_limit`` over the adapter's defaults."""
        return self.rate_limit.over(self.spec.rate_limits)


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
    serve: ServeConfig = Field(default_factory=ServeConfig)
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
        crm.model_copy(
            update={
                "mapping": absolute(crm.mapping),
                "models": [absolute(m) for m in crm.models],
                "learn": crm.learn.model_copy(update={"path": absolute(crm.learn.path)}) if crm.learn is not None else None,
            }
        )
        for crm in config.crms
    ]
    env_file = absolute(config.env_file) if config.env_file is not None else None
    _check_files_exist(path, crms)
    _check_write_policies(path, crms)
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


def _check_write_policies(path: pathlib.Path, crms: t.Sequence[CRMConfig]) -> None:
    """Each ``write_policy`` against the outputs its entry's models write (file, line and key per problem)."""
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models

    found: list[tuple[tuple[t.Any, ...], str]] = []
    for i, crm in enumerate(crms):
        if not crm.write_policy:
            continue
        try:
            specs = specs_from_models(load_models(crm.models))
        except YamlFileError:
            continue  # the model's own problems are reported by `connector validate` and the run
        found += [(("crms", i, "write_policy", *loc), message) for loc, message in policy_problems(crm.write_policy, specs)]
    if found:
        _, node = load_yaml(path)
        raise YamlFileError([FileProblem(str(path), line_of(node, loc), _dotted(loc), message) for loc, message in found])


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
            crm.spec.load_mapping(crm.mapping)
        except YamlFileError as exc:
            problems += exc.problems
    if problems:
        raise YamlFileError(problems)
    return f"connector config: {len(config.crms)} CRM(s): " + ", ".join(f"{c.name} ({c.adapter}, {len(c.models)} model(s))" for c in config.crms)


def crm_entry(
    name: str,
    adapter: str,
    mapping: str | os.PathLike[str],
    models: t.Sequence[str | os.PathLike[str]],
    **keys: t.Any,
) -> dict[str, t.Any]:
    """One ``crms[]`` entry as plain data, for :func:`write_config` (``keys``: any other entry key)."""
    return {"name": name, "adapter": adapter, "mapping": str(mapping), "models": [str(m) for m in models], **{k: v for k, v in keys.items() if v is not None}}


def write_config(path: str | os.PathLike[str], crms: t.Sequence[t.Mapping[str, t.Any]], *, comment: str = "", **keys: t.Any) -> pathlib.Path:
    """Write a ``connector.yaml`` with these ``crms`` entries (:func:`crm_entry`) and top-level ``keys``.

    ``comment`` becomes the file's leading comment lines. Keys given as ``None`` are left out (their
    defaults apply). The file is not validated here: :func:`load_config` does that, as for any file.
    """
    target = pathlib.Path(path)
    top = {k: (str(v) if isinstance(v, os.PathLike) else v) for k, v in keys.items() if v is not None}
    head = "".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines())
    body = yaml.safe_dump({**top, "crms": [dict(c) for c in crms]}, sort_keys=False, default_flow_style=False)
    target.write_text(head + body, encoding="utf-8")
    return target
