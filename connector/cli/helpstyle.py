"""How ``--help`` shows options: a plain flag takes no value, so it shows no type.

typer 0.29 prints each option's type in a column of its own, ``<bool>`` beside every plain flag
(``--full``, ``--keep``, ``--help`` itself), which reads as if the flag wanted a value
(``--keep <bool>``), and ``<list[Path]>`` beside a repeatable one, which reads as Python.
:func:`plain_flags` leaves that column empty for flags and shows a repeatable value as
``<path>...``; other options keep their type. Older typer versions have no such column and are
left as they are.
"""

from __future__ import annotations

import re
import typing as t

import typer.core

__all__ = ["plain_flags"]

_LIST = re.compile(r"^<list\[(\w+)\]>(\.\.\.)?$")


def plain_flags() -> None:
    """Show no type beside flags, and ``<path>...`` for repeatable values, in ``--help`` (idempotent)."""
    for name in ("TyperOption", "TyperArgument"):
        cls = getattr(typer.core, name, None)
        shown = getattr(cls, "display_type_rich", None)
        if cls is None or shown is None or getattr(shown, "_plain_flags", False):
            continue
        cls.display_type_rich = _plain(shown)


def _plain(shown: t.Callable[[t.Any, t.Any], str | None]) -> t.Callable[[t.Any, t.Any], str | None]:
    def display_type_rich(self: t.Any, ctx: t.Any) -> str | None:
        if getattr(self, "is_flag", False):
            return None
        text = shown(self, ctx)
        repeated = _LIST.match(text) if isinstance(text, str) else None
        return f"<{repeated.group(1).lower()}>..." if repeated else text

    display_type_rich._plain_flags = True  # type: ignore[attr-defined]
    return display_type_rich
