"""The Salesforce adapter: ``ADAPTER`` declares it, :class:`SalesforceAdapter` implements the contract.

Everything goes through ``simple-salesforce`` on a ``requests.Session`` of ours (:mod:`.transport`:
gate, counters, token, retries, the daily allowance reserve), logged in by :mod:`.auth`. The data
path, top-down: :mod:`.people` (Leads and Contacts) and :mod:`.activity` pull and translate with
:mod:`.mapping`; :mod:`.writer` writes outputs back (Collections or Bulk API 2.0) and
:mod:`.campaigns` keeps the stage and score-band campaigns; :mod:`.tasks`, :mod:`.setup` and
:mod:`.check` serve trigger actions and ``connector setup``/``check``.
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
from connector.adapters.salesforce.activity import pull_activities
from connector.adapters.salesforce.campaigns import Campaigns
from connector.adapters.salesforce.cdc_auth import open_change_feed
from connector.adapters.salesforce.check import check_mapping
from connector.adapters.salesforce.client import SalesforceClient
from connector.adapters.salesforce.mapping import SalesforceMapping, load_mapping
from connector.adapters.salesforce.outcomes import pull_outcomes, read_people
from connector.adapters.salesforce.people import pull_people
from connector.adapters.salesforce.settings import CREDENTIAL_ROLES, SalesforceSettings, salesforce_settings
from connector.adapters.salesforce.setup import TEXT_LENGTH, run_setup
from connector.adapters.salesforce.tasks import TaskWriter
from connector.adapters.salesforce.transport import RetryPolicy
from connector.adapters.salesforce.writer import COLLECTION_SIZE, output_types, push_updates
from connector.scoring.records import Activity, Contact

__all__ = ["ADAPTER", "RetryPolicy", "SalesforceAdapter", "SalesforceMapping", "SalesforceSettings", "load_mapping", "salesforce_settings"]


class SalesforceAdapter:
    """One Salesforce org, as the sync engine sees it.

    Args:
        settings: where the org is and how to log in.
        mapping: the loaded ``mappings/salesforce.yaml``.
        gate: the sync engine's rate limiter (``NoGate`` by default).
        stats: counters to fill (a fresh ``ApiStats`` by default).
        policy: retry policy (tests shorten the backoff).
        outputs: the output fields the models write (their kinds spare the push a ``describe``).
    """

    #: Tasks per create, members per campaign call, records per Collections call.
    max_batch_size = COLLECTION_SIZE

    def __init__(
        self,
        settings: SalesforceSettings,
        mapping: SalesforceMapping,
        *,
        gate: RequestGate | None = None,
        stats: ApiStats | None = None,
        policy: RetryPolicy | None = None,
        outputs: t.Sequence[OutputSpec] = (),
    ) -> None:
        self.mapping = mapping
        self.output_types = output_types(outputs)
        self.client = SalesforceClient(settings, gate=gate, stats=stats, policy=policy, reserve=mapping.limits.daily_reserve)
        self.stats = self.client.stats
        self.campaigns = Campaigns(self.client, mapping)
        #: A push call takes up to a Bulk job's worth of records (see :mod:`.writer`).
        self.max_push_size = mapping.push.max_push
        self._tasks: TaskWriter | None = None

    def pull_contacts(self, since: dt.datetime | None, until: dt.datetime, echo: Echo | None = None) -> t.Iterator[Page[Contact]]:
        """Leads, then Contacts, modified in ``[floor(since), until]`` (see :mod:`.people`).

        ``echo`` is not left out here: the people the connector wrote come back with their new
        ``SystemModstamp`` and are recognised as unchanged by the sync (no rescoring, no writes);
        the cost is their query pages (2,000 records each), not a per-second search budget.
        """
        return pull_people(self.client, self.mapping, since, until)

    def pull_activities(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Activity]]:
        """Tasks, Events and campaign responses (see :mod:`.activity`)."""
        return pull_activities(self.client, self.mapping, since, until)

    def pull_outcomes(self, since: dt.datetime | None, until: dt.datetime) -> t.Iterator[Page[Outcome]]:
        """Converted leads and won opportunities, as the mapping's ``outcomes`` asks (see :mod:`.outcomes`)."""
        return pull_outcomes(self.client, self.mapping, since, until)

    def read_contacts(self, ids: t.Sequence[str]) -> t.Iterator[Page[Contact]]:
        """These Leads and Contacts as they are now (queries of 200 ids; converted, deleted and unknown ones left out)."""
        return read_people(self.client, self.mapping, ids)

    def push(self, updates: t.Sequence[FieldUpdate]) -> PushResult:
        """Write changed values (Collections, or Bulk API 2.0 from ``push.bulk_threshold``), then keep the stage/band campaigns."""
        result = push_updates(self.client, self.mapping, updates, self.output_types)
        lists = self.mapping.lists
        if result.written and (lists.stage_campaigns or lists.score_bands):
            landed = set(result.written)
            values: dict[str, dict[str, t.Any]] = {}
            for update in updates:
                if update.contact_id in landed:
                    values.setdefault(update.contact_id, {}).update(update.values)
            self.campaigns.sync(values)
        return result

    def add_to_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Make the people members of the campaign ``list_name``, creating it if needed (idempotent)."""
        self.campaigns.change(list_name, contact_ids, add=True)

    def remove_from_list(self, list_name: str, contact_ids: t.Sequence[str]) -> None:
        """Remove the people from the campaign ``list_name`` (idempotent; a missing campaign is left alone)."""
        self.campaigns.change(list_name, contact_ids, add=False)

    def create_tasks(self, tasks: t.Sequence[TaskRequest]) -> TaskResult:
        """Tasks for the records' owners, 200 per call, at most once per key (see :mod:`.tasks`)."""
        if self._tasks is None:
            self._tasks = TaskWriter(self.client, self.mapping)
        return self._tasks.create(tasks)

    def setup(self, specs: t.Sequence[OutputSpec]) -> list[str]:
        """Create, grant and confirm the output fields, the task key field and the campaigns (idempotent)."""
        return run_setup(self.client, self.mapping, specs, self.campaigns)

    def check(self, outputs: t.Sequence[str]) -> list[MappingProblem]:
        """Compare the mapping (and the models' output fields) with ``describe``."""
        return check_mapping(self.client, self.mapping, output_names=outputs)

    def close(self) -> None:
        """Release connections."""
        self.client.close()

    def __repr__(self) -> str:
        return f"SalesforceAdapter({self.client!r})"


def from_config(settings: AdapterSettings, gate: RequestGate) -> CRMAdapter:
    """The adapter of one configured org (credentials checked, mapping loaded), gated by ``gate``.

    Raises:
        CRMError: no complete login (naming the variables to set).
        YamlFileError: the mapping file is invalid (file:line:key).
    """
    return SalesforceAdapter(salesforce_settings(settings), load_mapping(settings.mapping), gate=gate, outputs=settings.outputs)


#: What the connector needs to know about Salesforce (see :class:`~connector.adapters.base.AdapterSpec`).
ADAPTER = AdapterSpec(
    name="salesforce",
    label="Salesforce",
    credential_roles=CREDENTIAL_ROLES,
    base_url_env="SALESFORCE_INSTANCE_URL",
    ca_bundle_env="SALESFORCE_CA_BUNDLE",
    # https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm:
    # no per-second limit, 25 concurrent long requests, and a rolling 24-hour allowance (100,000
    # for Enterprise Edition plus per-licence additions; the org's real figure arrives in
    # Sforce-Limit-Info and is adopted). The per-window figure only keeps a run polite.
    rate_limits=RateLimits(requests=25, per_seconds=1.0, daily=100_000),
    max_batch_size=COLLECTION_SIZE,
    # The reasons summary goes into a Long Text Area of this length (see .setup).
    max_text_length=TEXT_LENGTH,
    load_mapping=load_mapping,
    from_config=from_config,
    change_feed=open_change_feed,
)
