"""From a ``crms[]`` entry of ``connector.yaml`` to a live adapter.

The config names environment variables, never secrets: here, and only here, the sync engine reads
their values (from the environment, which wins, or the ``.env`` file), right before building the
adapter. Secrets go straight into the adapter's settings object (``SecretStr``), never into a log
line, an error message or the database. Adapters are imported lazily, so a HubSpot-only install
never needs the Salesforce code and vice versa.
"""

from __future__ import annotations

import pathlib
import typing as t

from connector.adapters.base import CRMAdapter, CRMError, RequestGate

if t.TYPE_CHECKING:
    from connector.sync.config import CRMConfig

__all__ = ["CREDENTIAL_ROLES", "build_adapter"]

#: Credential roles each adapter kind understands (keys of ``crms[].credentials``).
CREDENTIAL_ROLES: dict[str, tuple[str, ...]] = {
    "hubspot": ("access_token", "client_id", "client_secret", "refresh_token"),
    "salesforce": ("username", "password", "security_token", "consumer_key", "consumer_secret", "private_key_file", "domain", "instance_url", "access_token"),
}


def _check_roles(crm: CRMConfig) -> None:
    known = CREDENTIAL_ROLES[crm.adapter]
    unknown = sorted(set(crm.credentials) - set(known))
    if unknown:
        raise CRMError(f"crm '{crm.name}': unknown credential role(s) {', '.join(unknown)} for adapter {crm.adapter} (known: {', '.join(known)})")


def build_adapter(crm: CRMConfig, gate: RequestGate, *, env_file: pathlib.Path | None = None, environ: t.Mapping[str, str] | None = None) -> CRMAdapter:
    """Build the adapter of ``crm``, gated by ``gate``, with credentials from the named env vars.

    Raises:
        CRMError: missing credentials (naming the variables, never their values), unknown adapter.
    """
    _check_roles(crm)
    env_path = env_file if env_file is not None else pathlib.Path(".env")
    if crm.adapter == "hubspot":
        return _hubspot(crm, gate, env_path, environ)
    if crm.adapter == "salesforce":
        return _salesforce(crm, gate, env_path, environ)
    raise CRMError(f"crm '{crm.name}': unknown adapter '{crm.adapter}'")


def _hubspot(crm: CRMConfig, gate: RequestGate, env_file: pathlib.Path, environ: t.Mapping[str, str] | None) -> CRMAdapter:
    try:
        from connector.adapters.hubspot import HubSpotAdapter
        from connector.adapters.hubspot.client import EnvNames, settings_from_env
        from connector.adapters.hubspot.mapping import load_mapping
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise CRMError(f"crm '{crm.name}': the HubSpot adapter is not available in this installation ({exc})") from None
    names = EnvNames(**{role: var for role, var in crm.credentials.items()}, **({"base_url": crm.base_url_env} if crm.base_url_env else {}))
    settings = settings_from_env(names, env_file=env_file, environ=environ)
    mapping = load_mapping(crm.mapping)
    return t.cast(CRMAdapter, HubSpotAdapter(mapping=mapping, settings=settings, gate=gate))


def _salesforce(crm: CRMConfig, gate: RequestGate, env_file: pathlib.Path, environ: t.Mapping[str, str] | None) -> CRMAdapter:
    try:
        import connector.adapters.salesforce as salesforce
    except ImportError:
        raise CRMError(f"crm '{crm.name}': the Salesforce adapter is not available in this installation yet") from None
    factory = getattr(salesforce, "from_sync_config", None)
    if factory is None:
        raise CRMError(f"crm '{crm.name}': the Salesforce adapter does not offer from_sync_config(crm, gate, env_file, environ)")
    return t.cast(CRMAdapter, factory(crm, gate, env_file=env_file, environ=environ))


