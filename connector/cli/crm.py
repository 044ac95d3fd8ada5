"""CLI commands: ``connector check`` and ``connector setup`` for a CRM (HubSpot for now).

Thin: reads credentials from the environment/.env, loads the mapping and models, calls the adapter.
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
ModelOption = typer.Option(None, "--model", help="Scoring model file(s) whose outputs must exist; repeat for several (setup default: mappings/models/*.yaml).")


def _fail(message: str, code: int = 2) -> t.NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def _adapter(crm: str, mapping: pathlib.Path | None) -> t.Any:
    from connector.adapters.base import CRMError
    from connector.yamlfile import YamlFileError

    if crm != "hubspot":
        _fail(f"--crm {crm}: only 'hubspot' is supported by these commands so far")
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
    mapping: t.Optional[pathlib.Path] = MappingOption,  # noqa: UP007 - typer reads the annotation
    model: t.Optional[list[pathlib.Path]] = ModelOption,  # noqa: UP007
) -> None:
    """Compare the mapping (and the models' outputs) with the CRM's real properties."""
    from connector.adapters.base import CRMError

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
    mapping: t.Optional[pathlib.Path] = MappingOption,  # noqa: UP007
    model: t.Optional[list[pathlib.Path]] = ModelOption,  # noqa: UP007
) -> None:
    """Create the property group, output properties and lists the models need (idempotent)."""
    from connector.adapters.base import CRMError

    if not model:
        model = sorted(DEFAULT_MODELS.glob("*.yaml")) if DEFAULT_MODELS.is_dir() else []
        if not model:
            _fail(f"no scoring models: give --model FILE [--model FILE ...] (none found in {DEFAULT_MODELS}/)")
        typer.echo(f"models: {', '.join(str(m) for m in model)}")
    models = _models(model)
    adapter = _adapter(crm, mapping)
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
