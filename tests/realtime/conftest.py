"""Fixtures of the real-time tests: the sync tests' fake CRM, config and clock."""

from __future__ import annotations

from tests.sync.conftest import clock, factory, fake_crm, sync_config

__all__ = ["clock", "factory", "fake_crm", "sync_config"]
