"""Reading an adapter's settings -- credentials by role, base URL, CA bundle -- from the environment.

``connector.yaml`` names environment variables, never secrets. Here, and only here, their values
are read: the process environment wins over the ``.env`` file, blank values count as unset, and
every secret becomes a ``SecretStr`` at once, so no ``repr``, log line or error message shows it.
Which roles exist and which variables they default to is the adapter's declaration
(:class:`~connector.adapters.base.AdapterSpec`); which combination of roles suffices (a token, or
an OAuth triple) is the adapter's own business, checked by its ``from_config``.
"""

from __future__ import annotations

import os
import pathlib
import typing as t

from dotenv import dotenv_values
from pydantic import SecretStr

from connector.adapters.base import AdapterSettings, AdapterSpec, CRMError, OutputSpec

__all__ = ["check_variables", "credentials_hint", "read_settings"]


def credentials_hint(settings: AdapterSettings, roles: t.Sequence[str] | None = None) -> str:
    """``Check HS_TOK``: what an admin should look at when the CRM refuses the credentials.

    Names the variables the configuration names for ``roles`` (``crms[].credentials``, else the
    adapter's defaults) -- never a value. Default roles: those that are set, i.e. the credentials
    the adapter actually sent. Every adapter's "credentials refused" message ends with it, so it
    never names a variable the configuration does not use.
    """
    chosen = list(roles) if roles is not None else [r for r in settings.variables if r in settings.secrets] or list(settings.variables)
    return f"{check_variables([settings.variables[r] for r in chosen if r in settings.variables])} (crm '{settings.crm}')"


def check_variables(names: t.Sequence[str]) -> str:
    """``Check A, B and C``."""
    return "Check " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" and {names[-1]}")


def _lookup(environ: t.Mapping[str, str], file_values: t.Mapping[str, str | None], name: str) -> str | None:
    for source in (environ, file_values):
        value = source.get(name)
        if value is not None and value.strip():
            return value.strip()
    return None


def read_settings(
    spec: AdapterSpec,
    *,
    crm: str,
    mapping: pathlib.Path,
    variables: t.Mapping[str, str] | None = None,
    base_url_env: str | None = None,
    ca_bundle_env: str | None = None,
    env_file: pathlib.Path | None = None,
    environ: t.Mapping[str, str] | None = None,
    outputs: t.Sequence[OutputSpec] = (),
) -> AdapterSettings:
    """The settings of one configured CRM, read from the variables it names (or the spec's defaults).

    Args:
        spec: the adapter's declaration (roles and default variable names).
        crm: the entry's name, for messages.
        mapping: the mapping file.
        variables: credential role -> variable NAME, overriding the declared defaults.
        base_url_env: variable NAME of the base URL (default: the declared one).
        ca_bundle_env: variable NAME of a CA bundle path (default: the declared one, if any).
        env_file: a ``.env`` file read for variables missing from the environment (absent: none).
        environ: the environment (default: ``os.environ``).
        outputs: the output fields the entry's models write (see :attr:`AdapterSettings.outputs`).

    Raises:
        CRMError: a role the adapter does not know (naming the known ones).
    """
    given = dict(variables or {})
    unknown = sorted(set(given) - set(spec.credential_roles))
    if unknown:
        known = ", ".join(spec.credential_roles)
        raise CRMError(f"crm '{crm}': unknown credential role(s) {', '.join(unknown)} for adapter {spec.name} (known: {known})")
    env = os.environ if environ is None else environ
    file_values = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
    names = {role: given.get(role, default) for role, default in spec.credential_roles.items()}
    secrets = {role: SecretStr(value) for role, name in names.items() if (value := _lookup(env, file_values, name)) is not None}
    url_name = base_url_env or spec.base_url_env
    base_url = _lookup(env, file_values, url_name)
    bundle_name = ca_bundle_env or spec.ca_bundle_env
    bundle = _lookup(env, file_values, bundle_name) if bundle_name else None
    return AdapterSettings(
        crm=crm,
        mapping=mapping,
        secrets=secrets,
        variables=names,
        base_url=base_url.rstrip("/") if base_url else None,
        ca_bundle=pathlib.Path(bundle) if bundle else None,
        base_url_variable=url_name,
        outputs=tuple(outputs),
    )
