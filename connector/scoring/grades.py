"""Letter grades from one value, and the HubSpot-style matrix label from two (section 10)."""

from __future__ import annotations

import typing as t

from connector.scoring.model import GradeSpec, MatrixSpec

__all__ = ["grade", "matrix"]


def grade(spec: GradeSpec | None, values: t.Mapping[str, float]) -> str | None:
    """The first band (highest first) whose ``min`` is at or below the value; ``None`` if none."""
    if spec is None:
        return None
    value = values[spec.dimension]
    for band in spec.bands:
        if band.min is None or band.min <= value:
            return band.label
    return None


def matrix(spec: MatrixSpec | None, values: t.Mapping[str, float]) -> str | None:
    """Row label + column label (``A`` + ``1`` = ``A1``); ``None`` when either has no band."""
    if spec is None:
        return None
    row, col = grade(spec.rows, values), grade(spec.columns, values)
    return None if row is None or col is None else f"{row}{col}"
