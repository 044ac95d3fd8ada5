"""The check every adapter should pass: its methods' signatures are the contract's."""

from __future__ import annotations

import inspect

from connector.adapters.base import CRMAdapter

__all__ = ["assert_covers_the_contract"]


def assert_covers_the_contract(adapter_cls: type) -> None:
    """Every public method of :class:`CRMAdapter` exists on ``adapter_cls`` with the same parameters."""
    for name, member in inspect.getmembers(CRMAdapter, inspect.isfunction):
        if name.startswith("_"):
            continue
        ours = getattr(adapter_cls, name)
        wanted = list(inspect.signature(member).parameters)
        have = list(inspect.signature(ours).parameters)
        assert have == wanted, f"{name}{inspect.signature(ours)} vs contract {inspect.signature(member)}"
