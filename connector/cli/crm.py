"""CLI commands: ``connector check`` and ``connector setup`` for a CRM (HubSpot for now).

Thin: finds the CRM, loads the mapping and models, calls the adapter. ``--crm`` names an entry of
``connector.yaml`` (``--config``, else ``CONNECTOR_CONFIG``, else ``./connector.yaml``) when there is
one of that name: its adapter, mapping, models, credential variables and rate limit are used, so an
admin sets up exactly what the sync will write. Otherwise ``--crm hubspot`` works without a config,
with the default mapping, the models in ``mappings/models/`` and the ``HUBSPOT_*`` variables.
"""

from __future__ import annotations

import pathlib
import typing as t

import typer

__all__ = ["check_command", "register", "setup_command"]

DEFAULT_MAPPINGS = {"hubspot": pathlib.Path("mappings/hubspot.yaml")}
#: Where ``setup`` looks for models when no ``--model`` is given.
DEFAULT_MODELS = pathlib.Path("mappings/models")

CrmOption = typer.Option(..., "--crm", help="Which CRM: hubspot.")
MappingOption = typer.Option(None, "--mapping", help="Mapping file (default: mappings/<crm>.yaml).")
ModelOption = typer.Option(None, "--model", help="Scoring model file(s) whose outputs must exist; repeat for several (default: the CRM's models in connector.yaml; setup without a config: mappings/models/*.yaml).")
ConfigOption = typer.Option(None, "--config", "-c", help="connector.yaml whose CRM entry --crm names (default: $CONNECTOR_CONFIG or ./connector.yaml, when present).")


def _fail(message: str, code: int = 2) -> t.NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _configured(crm: str, config: str | None) -> tuple[t.Any, t.Any] | None:
    """(config, its entry called ``crm``), or None when no config file has an entry of that name."""
    from connector.sync.config import config_path, load_config
    from connector.yamlfile import YamlFileError

    where = config_path(config)
    if not where.exists():
        if config is not None:
            _fail(f"no configuration at {where}")
        return None
    try:
        loaded = load_config(where)
    except YamlFileError as exc:
        _fail(f"the configuration is not valid:\n{exc}")
    for entry in loaded.crms:
        if entry.name == crm:
            return loaded, entry
    if config is not None or crm != "hubspot":
        _fail(f"--crm {crm}: no CRM of that name in {where} (configured: {', '.join(c.name for c in loaded.crms)})")
    return None


def _configured_adapter(config: t.Any, entry: t.Any, mapping: pathlib.Path | None) -> t.Any:
    """The adapter of a configured CRM, gated by its rate limit, with its credential variables."""
    from connector.adapters.base import CRMError
    from connector.sync.adapters_factory import build_adapter
    from connector.sync.ratelimit import RateLimiter
    from connector.yamlfile import YamlFileError

    if mapping is not None:
        entry = entry.model_copy(update={"mapping": mapping})
    try:
        return build_adapter(entry, RateLimiter.from_config(entry.rate_limit), env_file=config.env_file)
    except YamlFileError as exc:
        _fail(f"mapping is not valid:\n{exc}")
    except CRMError as exc:
        _fail(str(exc))


def _adapter(crm: str, mapping: pathlib.Path | None) -> t.Any:
    from connector.adapters.base import CRMError
    from connector.yamlfile import YamlFileError

    if crm != "hubspot":
        _fail(f"--crm {crm}: not a CRM of connector.yaml, and only 'hubspot' works without one")
    from connector.adapters.hubspot import HubSpotAdapter

    path = mapping or DEFAULT_MAPPINGS[crm]
    try:
        return HubSpotAdapter.from_env(str(path))
    except YamlFileError as exc:
        _fail(f"mapping is not valid:\n{exc}")
    except CRMError as exc:
        _fail(str(exc))


def _models(paths: list[pathlib.Path] | None) -> list[t.Any]:
    from connector.scoring.loader import load_models
    from connector.yamlfile import YamlFileError

    try:
        return load_models(paths or [])
    except YamlFileError as exc:
        _fail(f"model is not valid:\n{exc}")


def check_command(
    crm: str = CrmOption,
    mapping: pathlib.Path | None = MappingOption,
    model: list[pathlib.Path] | None = ModelOption,
    config: str | None = ConfigOption,
) -> None:
    """Compare the mapping (and the models' outputs) with the CRM's real properties."""
    from connector.adapters.base import CRMError

    found = _configured(crm, config)
    if found is not None:
        models = _models(model or list(found[1].models))
        adapter = _configured_adapter(found[0], found[1], mapping)
    else:
        models = _models(model)
        adapter = _adapter(crm, mapping)
    outputs = [name for m in models for name in m.output_names().values()]
    try:
        problems = adapter.check(outputs)
    except CRMError as exc:
        _fail(str(exc))
    finally:
        adapter.close()
    if problems:
        for problem in problems:
            typer.echo(str(problem))
        _fail(f"{len(problems)} problem(s) found", code=1)
    typer.echo(f"{crm}: mapping {adapter.mapping.source} matches the portal ({adapter.stats.calls} API calls)")


def setup_command(
    crm: str = CrmOption,
    mapping: pathlib.Path | None = MappingOption,
    model: list[pathlib.Path] | None = ModelOption,
    config: str | None = ConfigOption,
) -> None:
    """Create the property group, output properties and lists the models need (idempotent)."""
    from connector.adapters.base import CRMError

    found = _configured(crm, config)
    if found is not None:
        model = model or list(found[1].models)
        typer.echo(f"crm {crm} (connector.yaml): models {', '.join(str(m) for m in model)}")
    if not model:
        model = sorted(DEFAULT_MODELS.glob("*.yaml")) if DEFAULT_MODELS.is_dir() else []
        if not model:
            _fail(f"no scoring models: give --model FILE [--model FILE ...] (none found in {DEFAULT_MODELS}/)")
        typer.echo(f"models: {', '.join(str(m) for m in model)}")
    models = _models(model)
    adapter = _configured_adapter(found[0], found[1], mapping) if found is not None else _adapter(crm, mapping)
    try:
        changed = adapter.setup_models(models)
    except CRMError as exc:
        _fail(str(exc))
    finally:
        adapter.close()
    for line in changed:
        typer.echo(f"created/updated: {line}")
    typer.echo(f"{crm}: {len(changed)} change(s); {'nothing to do, already set up' if not changed else 'done'} ({adapter.stats.calls} API calls)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to app."""
    app.command("check")(check_command)
    app.command("setup")(setup_command)
