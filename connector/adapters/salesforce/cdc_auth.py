"""Credentials for the Pub/Sub API: an access token, the instance URL and the org (tenant) id.

Until the Salesforce adapter's own session is wired in, the change feed logs in by itself with the
OAuth 2.0 client credentials flow of the connected app ("OAuth 2.0 Client Credentials Flow for
Server-to-Server Integration"): ``POST {login}/services/oauth2/token`` with ``grant_type=
client_credentials``; the answer's ``instance_url`` is the instance URL and its ``id``
(``https://login.salesforce.com/id/<orgId>/<userId>``) names the org, the ``tenantid`` the Pub/Sub
API wants. Settings come from the environment (or ``.env``) only; the secret never reaches a log,
an error or ``repr``.
"""

from __future__ import annotations

import os
import pathlib
import typing as t

import requests

from connector.adapters.base import AdapterSettings, CRMError
from connector.adapters.changes import ChangeFeed
from connector.adapters.salesforce.cdc import PubSubAuth, PubSubFeed, own_writes, pubsub_target

__all__ = ["FeedSettings", "client_credentials", "feed_from_environment", "open_change_feed", "written_fields"]


class FeedSettings(t.NamedTuple):
    """Where and how the change feed connects (secrets stay in the environment until a login needs them)."""

    login_url: str
    client_id_env: str
    client_secret_env: str
    pubsub_target: str
    ca_bundle: str | None

    @classmethod
    def from_environment(cls, environ: t.Mapping[str, str] | None = None) -> FeedSettings:
        """``SALESFORCE_LOGIN_URL`` (else ``SALESFORCE_INSTANCE_URL``), ``SALESFORCE_PUBSUB_URL``, ``SALESFORCE_CA_BUNDLE``.

        Raises:
            CRMError: a variable the feed needs is unset (named, never its value).
        """
        env = os.environ if environ is None else environ
        login = (env.get("SALESFORCE_LOGIN_URL") or env.get("SALESFORCE_INSTANCE_URL") or "").strip()
        missing = [name for name in ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET") if not (env.get(name) or "").strip()]
        if not login:
            missing.insert(0, "SALESFORCE_LOGIN_URL")
        if missing:
            raise CRMError(f"Salesforce change feed: set {', '.join(missing)} (the connected app's client credentials flow)")
        return cls(login.rstrip("/"), "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET", pubsub_target(env.get("SALESFORCE_PUBSUB_URL")),
                   (env.get("SALESFORCE_CA_BUNDLE") or "").strip() or None)


def client_credentials(settings: FeedSettings, environ: t.Mapping[str, str] | None = None, timeout: float = 30.0) -> PubSubAuth:
    """Log in with the client credentials flow and return the Pub/Sub metadata values.

    Raises:
        CRMError: the login was refused or answered something unexpected (the secret is never in the message).
    """
    env = os.environ if environ is None else environ
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would otherwise win over verify
    session.verify = settings.ca_bundle or True
    try:
        response = session.post(f"{settings.login_url}/services/oauth2/token", timeout=timeout,
                                data={"grant_type": "client_credentials", "client_id": env[settings.client_id_env].strip(),
                                      "client_secret": env[settings.client_secret_env].strip()})
    except requests.RequestException as exc:
        raise CRMError(f"Salesforce login at {settings.login_url} failed: {type(exc).__name__}") from None
    finally:
        session.close()
    if response.status_code != 200:
        try:
            reason = response.json().get("error_description") or response.json().get("error")
        except ValueError:
            reason = response.text[:200]
        raise CRMError(f"Salesforce login at {settings.login_url} refused (HTTP {response.status_code}): {reason}")
    body = response.json()
    try:
        org_id = str(body["id"]).rstrip("/").split("/")[-2]
        return PubSubAuth(str(body["access_token"]), str(body["instance_url"]), org_id)
    except (KeyError, IndexError, TypeError) as exc:
        raise CRMError(f"Salesforce login at {settings.login_url}: unexpected token answer (no {exc})") from None


def feed_from_environment(topic: str = "/data/ChangeEvents", env_file: pathlib.Path | None = None, environ: t.Mapping[str, str] | None = None) -> PubSubFeed:
    """The change feed of the org the environment names (process environment first, then ``env_file``), logged in at once.

    Raises:
        CRMError: a setting is missing or the login is refused.
    """
    from dotenv import dotenv_values

    merged = {k: v for k, v in (dotenv_values(env_file) if env_file and env_file.exists() else {}).items() if v is not None}
    merged.update(os.environ if environ is None else environ)
    settings = FeedSettings.from_environment(merged)
    client_credentials(settings, merged)  # fail now, plainly, rather than in the feed's retry loop
    return PubSubFeed(settings.pubsub_target, lambda: client_credentials(settings, merged), topic=topic, ca_path=settings.ca_bundle)


def written_fields(mapping_path: pathlib.Path, output_names: t.Iterable[str]) -> frozenset[str]:
    """The Lead/Contact fields the connector writes for these outputs (the mapping's ``outputs.fields``, default ``<output>__c``)."""
    from connector.adapters.salesforce.mapping import load_mapping

    mapping = load_mapping(mapping_path)
    return frozenset(mapping.outputs.field_for(name) for name in output_names)


def open_change_feed(settings: AdapterSettings, topic: str, outputs: t.Sequence[str]) -> ChangeFeed:
    """The change feed of the org ``settings`` describe, logged in at once (``AdapterSpec.change_feed``).

    The variables are the ones the ``crms[]`` entry names (roles ``client_id``, ``client_secret``,
    ``pubsub_url``; the base URL variable for where to log in, else ``https://{domain}.salesforce.com``).
    ``outputs``: the canonical outputs the connector writes; an update that changed only their fields
    is the echo of its own write-back.

    Raises:
        CRMError: a variable is missing (named, never its value) or the login is refused.
    """
    from connector.adapters.salesforce.mapping import load_mapping

    names = settings.variables
    missing = [names.get(role, role) for role in ("client_id", "client_secret") if role not in settings.secrets]
    if missing:
        raise CRMError(f"Salesforce change feed of {settings.crm}: set {', '.join(missing)} (the connected app's client credentials flow)")
    env = {names[role]: settings.secrets[role].get_secret_value() for role in ("client_id", "client_secret", "pubsub_url", "domain") if role in settings.secrets}
    domain = env.get(names.get("domain", ""), "login").strip().removeprefix("https://").removesuffix("/").removesuffix(".salesforce.com")
    login = (settings.base_url or f"https://{domain}.salesforce.com").rstrip("/")
    feed_settings = FeedSettings(login, names["client_id"], names["client_secret"], pubsub_target(env.get(names.get("pubsub_url", ""))), str(settings.ca_bundle) if settings.ca_bundle else None)
    client_credentials(feed_settings, env)  # fail now, plainly, rather than in the feed's retry loop
    feed = PubSubFeed(feed_settings.pubsub_target, lambda: client_credentials(feed_settings, env), topic=topic, ca_path=feed_settings.ca_bundle)
    mapping = load_mapping(settings.mapping)
    return ChangeFeed(source=feed, is_echo=own_writes({mapping.outputs.field_for(name) for name in outputs}), close=feed.close)
