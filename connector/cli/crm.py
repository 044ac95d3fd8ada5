"""CLI commands: ``connector check`` and ``connector setup`` for a CRM.

Thin: finds the CRM, loads the models, calls the adapter through the registry. ``--crm`` names an
entry of ``connector.yaml`` (``--config``, else ``CONNECTOR_CONFIG``, else ``./connector.yaml``)
when there is one of that name: its adapter, mapping, models, credential variables and rate limit
are used, so an admin sets up exactly what the sync will write. Otherwise ``--crm`` may name an
adapter of the registry (``hubspot``) and works without a config, with ``mappings/<adapter>.yaml``,
the models in ``mappings/models/`` (setup) and the adapter's default variables.
"""

from __future__ import annotations

import pathlib
import typing as t

import typer

from connector.cli.common import fail

if t.TYPE_CHECKING:
    from connector.adapters.base import CRMAdapter
    from connector.scoring.model import ScoringModel
    from connector.sync.config import ConnectorConfig, CRMConfig

__all__ = ["check_command", "register", "setup_command"]

#: Where ``setup`` looks for models when no ``--model`` is given and no config names them.
DEFAULT_MODELS = pathlib.Path("mappings/models")

CrmOption = typer.Option(..., "--crm", help="A CRM entry of connector.yaml, or without a config an adapter name (e.g. hubspot).")
MappingOption = typer.Option(None, "--mapping", metavar="FILE", help="Mapping file (default: the entry's, or mappings/<adapter>.yaml).")
CheckModelOption = typer.Option(
    None, "--model", metavar="FILE", help="A scoring model whose output fields must exist in the CRM; repeat for several (default: the CRM's models in connector.yaml; none without a config)."
)
SetupModelOption = typer.Option(
    None, "--model", metavar="FILE", help="A scoring model whose output fields to create; repeat for several (default: the CRM's models in connector.yaml, else mappings/models/*.yaml)."
)
ConfigOption = typer.Option(None, "--config", "-c", help="connector.yaml whose CRM entry --crm names (default: $CONNECTOR_CONFIG or ./connector.yaml, when present).")


def _entry(crm: str, config: str | None, mapping: pathlib.Path | None, models: list[pathlib.Path]) -> tuple[CRMConfig, pathlib.Path | None]:
    """The CRM to work on and its ``.env`` file: the config's entry called ``crm``, else an adapter of that name."""
    from connector.adapters import REGISTRY, UnknownAdapter, adapter_spec
    from connector.cli.common import load_config_or_fail
    from connector.sync.config import CRMConfig, config_path

    loaded: ConnectorConfig | None = None
    if config is not None or config_path(None).exists():
        loaded = load_config_or_fail(config, code=2)
        from connector.sync.service import setup_logging

        setup_logging(loaded.log_format, loaded.log_level)  # retries and rate-limit waits, as a sync logs them
        entry = next((c for c in loaded.crms if c.name == crm), None)
        if entry is not None:
            update = {k: v for k, v in (("mapping", mapping), ("models", models)) if v}
            return entry.model_copy(update=update), loaded.env_file
    if loaded is not None and (config is not None or crm not in REGISTRY):
        fail(f"--crm {crm}: no CRM of that name in {config_path(config)} (configured: {', '.join(c.name for c in loaded.crms)})", code=2)
    try:
        adapter_spec(crm)
    except UnknownAdapter as exc:
        fail(f"--crm {crm}: not a CRM of connector.yaml, and {exc}", code=2)
    # No config: the adapter's defaults (constructed, not validated: models may be empty for check).
    return CRMConfig.model_construct(name=crm, adapter=crm, mapping=mapping or pathlib.Path(f"mappings/{crm}.yaml"), models=models), None


def _models(paths: t.Sequence[pathlib.Path]) -> list[ScoringModel]:
    from connector.scoring.loader import load_models
    from connector.yamlfile import YamlFileError

    try:
        return load_models(paths)
    except YamlFileError as exc:
        fail(f"model is not valid:\n{exc}", code=2)


def _adapter(entry: CRMConfig, env_file: pathlib.Path | None) -> CRMAdapter:
    """The adapter of ``entry``, gated by its rate limits, with its credential variables."""
    from connector.adapters.base import CRMError
    from connector.sync.connect import connect
    from connector.sync.ratelimit import RateLimiter
    from connector.yamlfile import YamlFileError

    try:
        return connect(entry, RateLimiter.from_limits(entry.limits), env_file=env_file)
    except YamlFileError as exc:
        fail(f"mapping is not valid:\n{exc}", code=2)
    except CRMError as exc:
        fail(str(exc), code=2)


def check_command(
    crm: str = CrmOption,
    mapping: pathlib.Path | None = MappingOption,
    model: list[pathlib.Path] | None = CheckModelOption,
    config: str | None = ConfigOption,
) -> None:
    """Check, without changing anything, that the CRM has every field the mapping reads and the models write.

    Read-only: each problem is printed as file:line: key: message, and the exit code is 1 when there
    is any. `connector setup` creates the output fields that are missing.
    """
    from connector.adapters.base import CRMError
    from connector.adapters.specs import specs_from_models

    entry, env_file = _entry(crm, config, mapping, list(model or []))
    models = _models(entry.models)
    adapter = _adapter(entry, env_file)
    try:
        problems = adapter.check([spec.name for spec in specs_from_models(models)])  # outputs and set_property targets
    except CRMError as exc:
        fail(str(exc), code=2)
    finally:
        adapter.close()
    for problem in problems:
        typer.echo(str(problem))
    if problems:
        fail(f"{len(problems)} problem(s) found")
    typer.echo(f"{crm}: mapping {entry.mapping} matches the CRM ({adapter.stats.calls} API calls)")


def setup_command(
    crm: str = CrmOption,
    mapping: pathlib.Path | None = MappingOption,
    model: list[pathlib.Path] | None = SetupModelOption,
    config: str | None = ConfigOption,
) -> None:
    """Create the output fields (and the lists, groups... the mapping asks for) the models need (idempotent).

    Changes the CRM: run it once before the first sync and after adding a model or an output.
    `connector check` only compares.
    """
    from connector.adapters.base import CRMError
    from connector.adapters.specs import specs_from_models

    entry, env_file = _entry(crm, config, mapping, list(model or []))
    paths = list(entry.models)
    if not paths:
        paths = sorted(DEFAULT_MODELS.glob("*.yaml")) if DEFAULT_MODELS.is_dir() else []
        if not paths:
            fail(f"no scoring models: give --model FILE [--model FILE ...] (none found in {DEFAULT_MODELS}/)", code=2)
        typer.echo(f"models: {', '.join(str(m) for m in paths)}")
    else:
        typer.echo(f"crm {crm}: models {', '.join(str(m) for m in paths)}")
    models = _models(paths)
    adapter = _adapter(entry, env_file)
    try:
        changed = adapter.setup(specs_from_models(models))
    except CRMError as exc:
        fail(str(exc), code=2)
    finally:
        adapter.close()
    for line in changed:
        typer.echo(f"created/updated: {line}")
    typer.echo(f"{crm}: {len(changed)} change(s); {'nothing to do, already set up' if not changed else 'done'} ({adapter.stats.calls} API calls)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("check")(check_command)
    app.command("setup")(setup_command)
