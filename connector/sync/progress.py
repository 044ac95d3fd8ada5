"""Where a run reports its progress: the CLI draws bars, the scheduler and the benchmarks log."""

from __future__ import annotations

import typing as t

__all__ = ["STAGES", "NullProgress", "Progress"]

#: The stages a run reports, in the order a reader follows a run. They overlap in time: the push
#: starts first (it writes what earlier runs left) and ends after the scoring.
STAGES = ("pull activities", "pull contacts", "score", "push", "actions", "pull outcomes")


class Progress(t.Protocol):
    """A sink for a run's progress, one stage at a time (stages may overlap)."""

    def start(self, stage: str, total: int | None = None) -> None:
        """A stage begins; ``total`` when known."""

    def advance(self, stage: str, amount: int) -> None:
        """``amount`` more items of the stage are done."""

    def finish(self, stage: str) -> None:
        """The stage is over."""


class NullProgress:
    """Reports nothing."""

    def start(self, stage: str, total: int | None = None) -> None:  # noqa: D102
        return None

    def advance(self, stage: str, amount: int) -> None:  # noqa: D102
        return None

    def finish(self, stage: str) -> None:  # noqa: D102
        return None
