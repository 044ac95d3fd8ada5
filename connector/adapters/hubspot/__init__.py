"""The HubSpot adapter: ``ADAPTER`` declares it, :class:`HubSpotAdapter` implements the contract.

Everything goes through the official ``hubspot-api-client`` (see :mod:`.client` for how it is
pointed at a host and how every request is gated, counted, authenticated and retried). The data
path, top-down: :mod:`.contacts` / :mod:`.activity` pull and translate with :mod:`.mapping`;
:mod:`.writer` writes outputs back; :mod:`.setup`, :mod:`.lists`, :mod:`.tasks` and :mod:`.check`
serve ``connector setup``/``check`` and trigger actions.
"""

from __future__ import annotations

import datetime as dt
import typing as t

from connector.adapters.base import (
    AdapterSettings,
    AdapterSpec,
    ApiStats,
    CRMAdapter,
    Echo,
    FieldUpdate,
    MappingProblem,
    Outcome,
    OutputSpec,
    Page,
    PushResult,
    RateLimits,
    RequestGate,
    TaskRequest,
    TaskResult,
)
from connector.adapters.hubspot.activity import pull_activities
from connector.adapters.hubspot.check import check_mapping
from connector.adapters.hubspot.client import HubSpotClient
from connector.adapters.hubspot.contacts import echo_filters, pull_contacts, read_contacts
from connector.adapters.hubspot.forms import FormNames
from connector.adapters.hubspot.lists import ListManager
from connector.adapters.hubspot.mapping import HubSpotMapping, load_mapping
from connector.adapters.hubspot.outcomes import pull_outcomes
from connector.adapters.hubspot.properties import PortalProperty, fetch_properties
from connector.adapters.hubspot.retry import RetryPolicy
from connector.adapters.hubspot.settings import CREDENTIAL_ROLES, HubSpotSettings, hubspot_settings
from connector.adapters.hubspot.setup import run_setup
from connector.adapters.hubspot.tasks import TaskWriter
from connector.adapters.hubspot.webhooks import HubSpotWebhooks
from connector.adapters.hubspot.writer import BATCH_SIZE, format_value, push_updates
from connector.scoring.records import Activity, Contact

__all__ = ["ADAPTER", "HubSpotAdapter", "HubSpotMapping", "HubSpotSettings", "RetryPolicy", "load_mapping"]


class HubSpotAdapter:
    """One HubSpot portal, as the sync engine sees it.

    Args:
        settings: where the portal is and its credentials.
        mapping: the loaded ``mappings/hubspot.yaml``.
        gate: the sync engine's rate limiter (``NoGate`` by default).
        stats: counters to fill (a fresh ``ApiStats`` by default).
        policy: retry policy (tests shorten the backoff).
    """

    max_batch_size = BATCH_SIZE
    max_push_size = BATCH_SIZE

    def __init__(
        self,
        settings: HubSpotSettings,
        mapping: HubSpotMapping,
        *,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.mapping = mapping
        self.client = HubSpotClient(settings, gate=gate, stats=stats, policy=policy)
        self.stats = self.client.stats
        self.lists = ListManager(self.client)
        self._portal: dict[str, PortalProperty] | None = None
        self._tasks: TaskWriter | None = None
        self.forms = FormNames(self.client)

    def portal_properties(self, *, refresh: bool = False) -> dict[str, PortalProperty]:
        """The portal's contact properties, read once per adapter (one call)."""
        if self._portal is None or refresh:
            self._portal = fetch_properties(self.client)
        return self._portal

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime, echo: Echo | None = None) -> t.Iterator[Page[Contact]]:
        """Contacts modified in ``(since, until]``, oldest first (see :mod:`.search` for why none is missed).

        ``echo``: left out with :func:`.contacts.echo_filters` when its marker is a ``datetime``
        property of the portal (a value unique to one run); otherwise the echo is pulled as before.
        """
        filters = None
        if echo is not None:
            name = self.mapping.outputs.property_for(echo.marker)
            prop = self.portal_properties().get(name)
            if prop is not None and prop.type == "datetime":
                filters = echo_filters(echo, name, format_value(echo.marker_value, prop))
        return pull_contacts(self.client, self.mapping, since, until, filters)

    def read_contacts(self, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
        """These contacts as they are now, 100 per batch read (the general budget, not the search budget)."""
        return read_contacts(self.client, self.mapping, ids)

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        """Web events, marketing email events and engagements that occurred in ``(since, until]``."""
        return pull_activities(self.client, self.mapping, since, until, self.forms)

    def pull_outcomes(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
        """Customers and won deals of ``(since, until]``, as the mapping's ``outcomes`` asks (see :mod:`.outcomes`)."""
        return pull_outcomes(self.client, self.mapping, since, until)

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        """Batch-update values (100 per call; names mapped like outputs); ``push([])`` makes no call."""
        return push_updates(self.client, self.mapping, updates, self.portal_properties)

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Add contacts to a MANUAL list, creating it if needed (idempotent)."""
        self.lists.change(list_name, contact_ids, add=True)

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Remove contacts from a MANUAL list (idempotent; a missing list is left alone)."""
        self.lists.change(list_name, contact_ids, add=False)

    def create_tasks(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """Create tasks for their contacts' owners in batches of 100, at most once per key (see :mod:`.tasks`)."""
        if self._tasks is None:
            self._tasks = TaskWriter(self.client, self.mapping)  # most runs create no task
        return self._tasks.create(tasks)

    def setup(self, specs: t.Sequence[OutputSpec]) -> list[str]:
        """Create missing group/properties/lists idempotently; return what was created or changed."""
        changed = run_setup(self.client, self.mapping, specs, self.lists)
        self._portal = None
        return changed

    def check(self, outputs: t.Sequence[str]) -> list[MappingProblem]:
        """Compare the mapping (and the models' output names) with the portal."""
        return check_mapping(self.client, self.mapping, output_names=outputs, forms=self.forms)

    def close(self) -> None:
        """Release connections."""
        self.client.close()

    def __repr__(self) -> str:
        return f"HubSpotAdapter(base_url={self.client.base_url!r})"


def from_config(settings: AdapterSettings, gate: RequestGate) -> CRMAdapter:
    """The adapter of one configured portal (credentials checked, mapping loaded), gated by ``gate``.

    Raises:
        CRMError: no usable credentials (naming the variables to set).
        YamlFileError: the mapping file is invalid (file:line:key).
    """
    return HubSpotAdapter(hubspot_settings(settings), load_mapping(settings.mapping), gate=gate)


#: What the connector needs to know about HubSpot (see :class:`~connector.adapters.base.AdapterSpec`).
ADAPTER = AdapterSpec(
    name="hubspot",
    label="HubSpot",
    credential_roles=CREDENTIAL_ROLES,
    base_url_env="HUBSPOT_BASE_URL",
    ca_bundle_env="HUBSPOT_CA_BUNDLE",
    # https://developers.hubspot.com/docs/api/usage-details: 190 requests per 10 s for a private
    # app on a paid tier; CRM search 5 requests per second per account, a separate budget.
    # Free and Starter portals allow 100 per 10 s (private apps overview): until the first answer's
    # X-HubSpot-RateLimit-Max says which plan this is, the limiter keeps to that.
    rate_limits=RateLimits(requests=190, per_seconds=10.0, searches_per_second=5.0, unannounced=100),
    max_batch_size=BATCH_SIZE,
    # Property values may be longer; a reasons summary beyond this is no longer read by anyone.
    max_text_length=500,
    load_mapping=load_mapping,
    from_config=from_config,
    webhooks=HubSpotWebhooks(),
)
