"""The insight tests reuse the sync tests' fixtures (config on disk, fake CRM, movable clock) and the HubSpot sandbox."""

from tests.adapters.conftest import sandbox  # noqa: F401 - fixture
from tests.sync.conftest import clock, factory, fake_crm, sync_config  # noqa: F401 - fixtures
