"""From a ``crms[]`` entry of ``connector.yaml`` to a live adapter, through the adapter registry.

The entry names its adapter and the environment variables that hold its credentials; the adapter's
declaration (:class:`~connector.adapters.base.AdapterSpec`) supplies the defaults. The values are
read (:func:`connector.adapters.settings.read_settings`) right before the adapter is built, and go
straight into its settings as ``SecretStr``, never into a log line, an error message or the
database. Nothing here knows any particular CRM.
"""

from __future__ import annotations

import pathlib
import typing as t

from connector.adapters.base import AdapterSettings, CRMAdapter, CRMError, OutputSpec, RequestGate
from connector.adapters.changes import ChangeFeed
from connector.adapters.settings import read_settings

if t.TYPE_CHECKING:
    from connector.sync.config import CRMConfig

__all__ = ["AdapterFactory", "connect", "open_change_feed"]

#: Builds the adapter of a configured CRM, handed the rate limiter to gate every request with.
AdapterFactory = t.Callable[["CRMConfig", RequestGate], CRMAdapter]


def connect(crm: CRMConfig, gate: RequestGate, *, env_file: pathlib.Path | None = None, environ: t.Mapping[str, str] | None = None) -> CRMAdapter:
    """The adapter of ``crm``, gated by ``gate``, with credentials from the variables it names.

    Args:
        crm: the entry.
        gate: the run's rate limiter (or ``NoGate`` for one-off commands).
        env_file: a ``.env`` file for variables missing from the environment (default ``./.env``).
        environ: the environment (default ``os.environ``).

    Raises:
        CRMError: missing or unknown credentials (naming the variables, never their values).
        YamlFileError: the mapping file is invalid.
    """
    return crm.spec.from_config(_settings(crm, env_file, environ), gate)


def open_change_feed(crm: CRMConfig, topic: str, outputs: t.Sequence[str], *, env_file: pathlib.Path | None = None) -> ChangeFeed:
    """The opened change feed of ``crm`` (``connector listen``), if its adapter offers one.

    Raises:
        CRMError: the adapter has no change feed, a variable is missing, or the login is refused.
    """
    spec = crm.spec
    if spec.change_feed is None:
        raise CRMError(f"{crm.name}: adapter {spec.name!r} has no pulled change feed (its changes arrive as webhooks through `connector serve`, or on the schedule)")
    return spec.change_feed(_settings(crm, env_file, None), topic, outputs)


def _settings(crm: CRMConfig, env_file: pathlib.Path | None, environ: t.Mapping[str, str] | None) -> AdapterSettings:
    spec = crm.spec
    return read_settings(
        spec,
        crm=crm.name,
        mapping=crm.mapping,
        variables=crm.credentials,
        base_url_env=crm.base_url_env,
        ca_bundle_env=crm.ca_bundle_env,
        env_file=env_file if env_file is not None else pathlib.Path(".env"),
        environ=environ,
        outputs=_outputs(crm),
    )


def _outputs(crm: CRMConfig) -> list[OutputSpec]:
    """The output fields the entry's models write (loaded again here: a few milliseconds per adapter)."""
    from connector.adapters.specs import specs_from_models
    from connector.scoring.loader import load_models

    return specs_from_models(load_models(crm.models)) if crm.models else []
