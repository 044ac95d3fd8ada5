"""Realistic synthetic CRM data for the scoring benchmark, generated straight into columns.

Shapes follow what a HubSpot/Salesforce portal of a B2B SaaS company holds:

- contacts: unique e-mail addresses over ~20,000 company domains plus free-mail, competitor and
  own-company ones; job titles, industries, countries and regions from weighted vocabularies with
  ``Select``/blank/absent answers; company sizes log-normal, a third of them sent as strings (as
  CRMs do); a phone number for 60 %; a CRM lifecycle stage;
- activities: a heavy-tailed count per contact (median 3, 99th percentile ~120, at most ~1,000), a
  realistic type mix (page views and e-mail dominate), ~3,000 URLs incl. ``/pricing`` and
  ``/careers``, form ids, timestamps over two years weighted towards recent weeks, second
  resolution (so ties happen), in event-stream order (sorted by time, contacts interleaved), a
  few in the future (clock skew);
- previous states as an incremental run sees them: stages, entry instants, trigger arming;
- manual adjustments for 0.5 % of contacts.

Everything is vectorised numpy so that generating 10 million activities takes seconds; the
benchmark times it separately from scoring.
"""

from __future__ import annotations

import dataclasses as dc
import datetime as dt
import typing as t

import numpy as np

from connector.scoring.columns import (
    NO_TIME,
    ActivityColumns,
    AdjustmentColumns,
    Categorical,
    ContactColumns,
    PreviousColumns,
    to_micros,
)
from connector.scoring.model import ScoringModel

__all__ = ["BUILTIN_MODEL", "Dataset", "generate"]

DAY = 86_400_000_000

TITLES = [
    ("Marketing Manager", 8), ("VP Marketing", 3), ("Head of Growth", 2), ("Demand Gen Specialist", 2),
    ("CTO", 2), ("Chief Executive Officer", 1), ("Software Engineer", 10), ("Senior Software Engineer", 6),
    ("Director of Sales", 3), ("Sales Representative", 6), ("Account Executive", 5), ("Product Manager", 5),
    ("Head of Operations", 2), ("Data Analyst", 4), ("Student", 3), ("Marketing Intern", 2), ("Consultant", 4),
    ("Founder", 2), ("IT Administrator", 3), ("Customer Success Manager", 3), ("Select", 4), ("", 3),
    ("marketing manager", 2), ("VP of Engineering", 2), ("Office Manager", 2), ("Recruiter", 2),
]  # fmt: skip
INDUSTRIES = [
    ("Software", 20), ("SaaS", 8), ("Internet", 6), ("Financial Services", 8), ("Retail", 6), ("Manufacturing", 7),
    ("Healthcare", 6), ("Education", 5), ("Government", 2), ("Consulting", 5), ("Media", 3), ("Telecommunications", 3),
    ("Select", 6), ("", 4),
]  # fmt: skip
COUNTRIES = [
    ("United States", 30), ("Canada", 5), ("United Kingdom", 8), ("Germany", 8), ("France", 6), ("Netherlands", 3),
    ("Spain", 3), ("Italy", 3), ("Sweden", 2), ("Poland", 2), ("India", 8), ("Brazil", 4), ("Australia", 4), ("Japan", 3),
    ("Russia", 1), ("Singapore", 2), ("Mexico", 2), ("N/A", 3),
]  # fmt: skip
EU = {"Germany", "France", "Netherlands", "Spain", "Italy", "Sweden", "Poland"}
LIFECYCLE = [("subscriber", 40), ("lead", 35), ("marketingqualifiedlead", 10), ("opportunity", 4), ("customer", 3), (None, 8)]
TYPES = [
    ("page_view", 46), ("email_sent", 15), ("email_open", 14), ("email_click", 5), ("form_submit", 3),
    ("asset_download", 3), ("webinar_attend", 1.5), ("demo_request", 0.6), ("meeting", 0.8), ("call", 1.5),
    ("unsubscribe", 0.4), ("support_ticket", 1.2), ("purchase", 0.2), ("chat_started", 1),
]  # fmt: skip
FORMS = ["contact-us", "trial-signup", "newsletter", "ebook-download", "webinar-register", "event-signup"]
FREE_MAIL = ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"]
COMPETITORS = ["rivalcrm.com", "leadzilla.io"]
OWN = ["example-saas.com"]


#: Used when ``mappings/models/b2b-saas.yaml`` is absent: the same richness (fit + engagement,
#: property rules with groups, decaying/capped/windowed activity rules, negative rules, exclusions,
#: grade, matrix, six stages with a reset, triggers).
BUILTIN_MODEL: dict[str, t.Any] = {
    "model": "bench-b2b",
    "placeholders": ["Select", "N/A"],
    "dimensions": {"fit": {"floor": 0, "ceiling": 100}, "engagement": {"floor": 0, "ceiling": 100}},
    "total": {"floor": 0, "ceiling": 200},
    "rules": [
        {"id": "title_marketing", "dimension": "fit", "points": 25, "when": {"property": "job_title", "op": "contains", "value": ["marketing", "growth", "demand gen"]}},
        {"id": "title_senior", "dimension": "fit", "points": 15, "when": {"property": "job_title", "op": "regex", "value": r"\b(vp|head|director|chief|c[emt]o)\b"}},
        {"id": "title_student", "dimension": "fit", "points": -20, "when": {"property": "job_title", "op": "regex", "value": r"\b(student|intern)\b"}},
        {"id": "industry", "dimension": "fit", "points": 20, "when": {"property": "industry", "op": "in", "value": ["Software", "SaaS", "Internet", "Financial Services"]}},
        {"id": "size", "dimension": "fit", "points": 20, "when": {"property": "company_size", "op": "between", "value": [50, 5000]}},
        {"id": "tiny", "dimension": "fit", "points": -10, "when": {"property": "company_size", "op": "lt", "value": 10}},
        {"id": "market", "dimension": "fit", "points": 10, "when": {"any": [
            {"property": "country", "op": "in", "value": ["United States", "Canada"]},
            {"all": [{"property": "region", "op": "eq", "value": "EU"}, {"property": "country", "op": "ne", "value": "Russia"}]},
        ]}},
        {"id": "free_mail", "dimension": "fit", "points": -10, "when": {"property": "email", "op": "email_domain_in", "value": ["gmail.com", "yahoo.com", "hotmail.com", "outlook.com"]}},
        {"id": "phone", "dimension": "fit", "points": 5, "when": {"property": "phone", "op": "exists"}},
        {"id": "pricing", "dimension": "engagement", "points": 10, "activity": {"types": ["page_view"], "where": [{"attribute": "url", "op": "contains", "value": "/pricing"}], "within_days": 30, "max_times": 3, "decay": {"half_life_days": 14}}},
        {"id": "pages", "dimension": "engagement", "points": 5, "activity": {"types": ["page_view"], "where": [{"attribute": "url", "op": "not_in", "value": ["/careers", "/jobs"]}], "within_days": 90, "max_points": 25, "decay": {"points": 1, "every_days": 30}}},
        {"id": "opens", "dimension": "engagement", "points": 2, "activity": {"types": ["email_open"], "within_days": 60, "max_points": 10}},
        {"id": "clicks", "dimension": "engagement", "points": 5, "activity": {"types": ["email_click"], "within_days": 60, "max_times": 4, "decay": {"half_life_days": 30}}},
        {"id": "forms", "dimension": "engagement", "points": 15, "activity": {"types": ["form_submit"], "where": [{"attribute": "form_id", "op": "in", "value": ["contact-us", "trial-signup", "newsletter"]}], "max_times": 2}},
        {"id": "downloads", "dimension": "engagement", "points": 8, "activity": {"types": ["asset_download"], "max_points": 24, "decay": {"half_life_days": 60}}},
        {"id": "webinars", "dimension": "engagement", "points": 12, "activity": {"types": ["webinar_attend"], "within_days": 180, "max_times": 2}},
        {"id": "demo", "dimension": "engagement", "points": 30, "activity": {"types": ["demo_request"], "max_times": 1}},
        {"id": "meetings", "dimension": "engagement", "points": 20, "activity": {"types": ["meeting"], "within_days": 90, "max_times": 2}},
        {"id": "careers", "dimension": "engagement", "points": -15, "activity": {"types": ["page_view"], "where": [{"attribute": "url", "op": "contains", "value": "/careers"}], "max_points": 30}},
        {"id": "unsubscribed", "dimension": "engagement", "points": -10, "activity": {"types": ["unsubscribe"], "max_times": 1}},
    ],
    "exclusions": [
        {"id": "competitor", "reason": "competitor", "when": {"property": "email", "op": "email_domain_in", "value": COMPETITORS}},
        {"id": "own_company", "reason": "own company", "when": {"property": "email", "op": "email_domain_in", "value": OWN}},
    ],
    "grade": {"dimension": "fit", "bands": [{"label": "A", "min": 60}, {"label": "B", "min": 40}, {"label": "C", "min": 20}, {"label": "D"}]},
    "matrix": {
        "rows": {"dimension": "fit", "bands": [{"label": "A", "min": 60}, {"label": "B", "min": 30}, {"label": "C"}]},
        "columns": {"dimension": "engagement", "bands": [{"label": "1", "min": 60}, {"label": "2", "min": 30}, {"label": "3"}]},
    },
    "stages": {"order": [
        {"name": "subscriber"},
        {"name": "lead", "activities": ["form_submit"]},
        {"name": "mql", "thresholds": {"fit": 40, "engagement": 40}, "match": "all"},
        {"name": "sql", "thresholds": {"fit": 60, "engagement": 70}, "activities": ["demo_request", "meeting"], "match": "all"},
        {"name": "opportunity", "when": {"property": "lifecyclestage", "op": "eq", "value": "opportunity"}, "reset_on_enter": ["engagement"]},
        {"name": "customer", "when": {"property": "lifecyclestage", "op": "eq", "value": "customer"}},
    ]},
    "triggers": [
        {"id": "mql_reached", "watch": {"stage": "mql"}, "actions": [{"type": "add_to_list", "list": "MQL nurture"}, {"type": "create_task", "subject": "Follow up", "due_days": 2}]},
        {"id": "hot", "watch": {"dimension": "engagement", "above": 80}, "actions": [{"type": "set_property", "property": "hot_lead", "value": "true"}]},
        {"id": "top", "watch": {"dimension": "total", "above": 150}, "actions": [{"type": "webhook", "url": "https://hooks.example.invalid/top"}]},
    ],
}


@dc.dataclass(frozen=True, slots=True)
class Dataset:
    """One generated portal: columns ready for :meth:`BatchScorer.score_columns`."""

    contacts: ContactColumns
    activities: ActivityColumns
    adjustments: AdjustmentColumns
    previous: PreviousColumns
    as_of: dt.datetime


def _weighted(rng: np.random.Generator, table: t.Sequence[tuple[t.Any, float]], n: int) -> tuple[list[t.Any], np.ndarray]:
    """Categorical codes drawn with the table's weights (``None`` values become code -1)."""
    values = [v for v, _ in table]
    weights = np.array([w for _, w in table], dtype=np.float64)
    codes = rng.choice(len(values), size=n, p=weights / weights.sum()).astype(np.int32)
    if None in values:
        gone = values.index(None)
        codes[codes == gone] = -1
    return values, codes


def _absent(rng: np.random.Generator, codes: np.ndarray, share: float) -> np.ndarray:
    """Mark a share of rows as absent (the CRM never had the property)."""
    codes[rng.random(len(codes)) < share] = -1
    return codes


def _contacts(rng: np.random.Generator, n: int) -> ContactColumns:
    props: dict[str, Categorical] = {}
    for name, table, share in (("job_title", TITLES, 0.1), ("industry", INDUSTRIES, 0.15), ("lifecyclestage", LIFECYCLE, 0.0)):
        values, codes = _weighted(rng, table, n)
        props[name] = Categorical(_absent(rng, codes, share), values)
    country_values, country_codes = _weighted(rng, COUNTRIES, n)
    props["country"] = Categorical(_absent(rng, country_codes, 0.1), country_values)
    region_values = ["EU", "North America", "APAC", "LATAM", "Other"]
    region_of = np.array([0 if c in EU else 1 if c in ("United States", "Canada") else 2 if c in ("India", "Australia", "Japan", "Singapore") else 3 if c in ("Brazil", "Mexico") else 4 for c in country_values] + [4], dtype=np.int32)
    props["region"] = Categorical(region_of[country_codes], region_values)
    # Company size: log-normal head count; a third arrive as strings, like many CRM exports.
    sizes = np.clip(np.round(rng.lognormal(4.0, 1.8, n)), 1, 200_000).astype(np.int64)
    as_text = rng.random(n) < 0.33
    distinct, inverse = np.unique(sizes * 2 + as_text, return_inverse=True)
    size_values: list[t.Any] = [str(v // 2) if v % 2 else int(v // 2) for v in distinct.tolist()]
    props["company_size"] = Categorical(_absent(rng, inverse.astype(np.int32), 0.2), size_values)
    # Unique e-mails and phone numbers: one distinct value per contact, the hard case.
    domains = [f"company{i}.com" for i in range(20_000)] + FREE_MAIL + COMPETITORS + OWN
    weights = np.r_[np.full(20_000, 0.8 / 20_000), np.full(len(FREE_MAIL), 0.18 / len(FREE_MAIL)), np.full(len(COMPETITORS), 0.015 / len(COMPETITORS)), [0.005]]
    domain_codes = rng.choice(len(domains), size=n, p=weights / weights.sum())
    emails = [f"person{i}@{domains[d]}" for i, d in enumerate(domain_codes.tolist())]
    props["email"] = Categorical(np.arange(n, dtype=np.int32), emails)
    phones = [f"+1 555 {i:07d}" for i in range(n)]
    props["phone"] = Categorical(_absent(rng, np.arange(n, dtype=np.int32), 0.4), phones)
    return ContactColumns(ids=[f"c{i}" for i in range(n)], properties=props)


def _activities(rng: np.random.Generator, n_contacts: int, m: int, as_of_us: int) -> ActivityColumns:
    # Heavy tail: a Zipf-like activity level per contact, then activities drawn by level.
    level = np.minimum(rng.pareto(1.3, n_contacts) + 0.2, 250.0)  # no contact above a few thousand
    contact = rng.choice(n_contacts, size=m, p=level / level.sum()).astype(np.int32)
    type_values, type_codes = _weighted(rng, TYPES, m)
    # Two years back, weighted towards the last weeks; second resolution; 0.1 % in the future.
    age_s = np.minimum(rng.exponential(60 * 86400, m), 730 * 86400).astype(np.int64)
    future = rng.random(m) < 0.001
    age_s[future] = -rng.integers(1, 3 * 86400, int(future.sum()))
    occurred = as_of_us - age_s * 1_000_000
    order_by_time = np.argsort(occurred, kind="stable")  # an event stream arrives in time order
    contact, type_codes, occurred = contact[order_by_time], type_codes[order_by_time], occurred[order_by_time]
    page = type_codes == type_values.index("page_view")
    paths = ["/pricing", "/pricing/enterprise", "/careers", "/careers/engineering", "/jobs", "/", "/product", "/demo"]
    paths += [f"/blog/post-{i}" for i in range(2500)] + [f"/docs/page-{i}" for i in range(500)]
    path_weights = np.r_[[6, 2, 1.5, 0.5, 0.5, 15, 8, 2], np.full(3000, 65 / 3000)]
    url = np.full(m, -1, dtype=np.int32)
    url[page] = rng.choice(len(paths), size=int(page.sum()), p=path_weights / path_weights.sum())
    form = np.full(m, -1, dtype=np.int32)
    forms = type_codes == type_values.index("form_submit")
    form[forms] = rng.integers(0, len(FORMS), int(forms.sum()))
    return ActivityColumns(
        contact=contact,
        type=Categorical(type_codes, type_values),
        occurred=occurred,
        order=np.arange(m, dtype=np.int64),  # ids are issued in arrival order
        attributes={"url": Categorical(url, paths), "form_id": Categorical(form, FORMS)},
    )


def _previous(rng: np.random.Generator, model: ScoringModel, n: int, as_of_us: int) -> PreviousColumns:
    """About 70 % of contacts were scored before: a stage, when it was entered, trigger arming."""
    names = [s.name for s in model.stages.order] if model.stages else []
    seen = rng.random(n) < 0.7
    stage: list[str | None] = [None] * n
    entered = np.full(n, NO_TIME, dtype=np.int64)
    if names:
        weights = np.array([0.5 ** i for i in range(len(names))])
        codes = rng.choice(len(names), size=n, p=weights / weights.sum())
        stage = [names[c] if s else None for c, s in zip(codes.tolist(), seen.tolist(), strict=False)]
        entered = np.where(seen, as_of_us - rng.integers(1, 365, n) * DAY, NO_TIME)
    armed = {trig.id: ~(seen & (rng.random(n) < 0.1)) for trig in model.triggers}
    return PreviousColumns(stage, entered, armed)


def generate(model: ScoringModel, n_contacts: int, n_activities: int, seed: int, as_of: dt.datetime) -> Dataset:
    """A realistic portal for ``model`` (its dimensions name the adjustments)."""
    rng = np.random.default_rng(seed)
    as_of_us = to_micros(as_of)
    contacts = _contacts(rng, n_contacts)
    activities = _activities(rng, n_contacts, n_activities, as_of_us)
    k = max(1, n_contacts // 200)
    dims = [d for d, spec in model.dimensions.items() if spec.predictive is None]
    adjustments = AdjustmentColumns(
        contact=rng.integers(0, n_contacts, k).astype(np.int32),
        dimension=[dims[i] for i in rng.integers(0, len(dims), k).tolist()],
        points=rng.choice([-10.0, -5.0, 5.0, 10.0, 20.0], k),
        at=as_of_us - rng.integers(0, 90 * 86400, k) * 1_000_000,
    )
    return Dataset(contacts, activities, adjustments, _previous(rng, model, n_contacts, as_of_us), as_of)
