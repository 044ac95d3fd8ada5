"""What every part of the model schema shares: unknown keys are errors, names have one shape."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

__all__ = ["NAME", "TOTAL", "Strict"]

#: Name that triggers, grades and stage thresholds use for the weighted total.
TOTAL = "total"

#: What model names and rule ids look like.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")


class Strict(BaseModel):
    """Unknown keys are errors: a typo in a model must never be silently ignored.

    Numbers are finite: YAML reads ``.inf`` and ``.nan`` as floats, and infinite points or
    bounds would break rounding (``round2``) in the middle of a sync instead of here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
