"""How ``--help`` shows options: a plain flag takes no value, so it shows no type.

typer 0.29 prints each option's type in a column of its own, ``<bool>`` beside every plain flag
(``--full``, ``--keep``, ``--help`` itself), which reads as if the flag wanted a value
(``--keep <bool>``). :func:`plain_flags` leaves that column empty for flags; options that take a
value keep their type. Older typer versions have no such column and are left as they are.
"""

from __future__ import annotations

import typing as t

import typer.core

__all__ = ["plain_flags"]


def plain_flags() -> None:
    """Show no type beside flags in ``--help`` (idempotent)."""
    option = getattr(typer.core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None or getattr(shown, "_plain_flags", False):
        return

    def display_type_rich(self: t.Any, ctx: t.Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._plain_flags = True  # type: ignore[attr-defined]
    option.display_type_rich = display_type_rich
