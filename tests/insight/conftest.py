"""The insight tests reuse the sync tests' fixtures (config on disk, fake CRM, movable clock)."""

from tests.sync.conftest import clock, factory, fake_crm, sync_config  # noqa: F401 - fixtures
