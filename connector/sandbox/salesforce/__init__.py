"""Salesforce sandbox: a local org speaking Salesforce's REST, Bulk API 2.0, Tooling and OAuth wire protocols over HTTPS.

See docs/sandbox.md. Independent of ``connector.adapters`` by design (two readings of the docs).
"""

from __future__ import annotations

from connector.sandbox.salesforce.faults import ALL_KINDS, SalesforceFaultPlan
from connector.sandbox.salesforce.sandbox import API_VERSION, SalesforceSandbox
from connector.sandbox.salesforce.seed import ADMIN_USERNAME, INTEGRATION_USERNAME

__all__ = ["ADMIN_USERNAME", "ALL_KINDS", "API_VERSION", "INTEGRATION_USERNAME", "SalesforceFaultPlan", "SalesforceSandbox"]
