"""Helpers shared by the Salesforce sandbox tests."""

from __future__ import annotations

import typing as t

from connector.sandbox.salesforce import SalesforceSandbox


def api(sandbox: SalesforceSandbox, path: str) -> str:
    """Absolute URL of a data API path (``query``, ``sobjects/Lead``...) at v59.0."""
    return f"{sandbox.instance_url}/services/data/v59.0/{path}"


def add_leads(sandbox: SalesforceSandbox, *rows: dict[str, t.Any]) -> list[str]:
    """Insert leads as the operator (Company and LastName defaulted)."""
    return sandbox.insert("Lead", [{"Company": "Acme", "LastName": f"Lead{i}", **row} for i, row in enumerate(rows)])
