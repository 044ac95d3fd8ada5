"""The sync engine: pull from the CRM, store, score, diff, write back; state, leases, rate limits.

Start at :func:`run_sync` (one run of one CRM, :mod:`connector.sync.pipeline`) and
:func:`load_config` (``connector.yaml``).
"""

from __future__ import annotations

from connector.sync.config import ConnectorConfig, CRMConfig, load_config, validate_config
from connector.sync.pipeline import run_sync
from connector.sync.summary import RunSummary

__all__ = ["CRMConfig", "ConnectorConfig", "RunSummary", "load_config", "run_sync", "validate_config"]
