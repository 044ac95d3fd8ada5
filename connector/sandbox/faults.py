"""Seeded fault injection shared by the sandboxes: some requests get an error, a dropped socket or a slow answer.

Clients must survive what a CRM does on a bad day; a fixed seed makes a failing test reproducible.
Each vendor names the kinds it can answer (``FaultPlan.known_kinds`` in a subclass) and renders them
its own way; the draw itself is the same everywhere. For writes, ``writes="skip"`` answers the fault
without applying the write and ``writes="apply"`` applies it first (a real service can do either; a
client must retry idempotently).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import typing as t

__all__ = ["FaultInjector", "FaultPlan"]


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """The configuration: how often, which kinds, what a faulted write means.

    ``kinds=()`` means every kind the vendor knows. Subclasses set ``known_kinds``.
    """

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ()
    writes: str = "skip"
    slow_seconds: float = 1.0

    known_kinds: t.ClassVar[tuple[str, ...]] = ("500", "503", "drop", "slow")

    def __post_init__(self) -> None:
        if not self.kinds:
            object.__setattr__(self, "kinds", tuple(self.known_kinds))
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = [k for k in self.kinds if k not in self.known_kinds]
        if unknown:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {list(self.known_kinds)}")
        if self.writes not in ("skip", "apply"):
            raise ValueError(f"fault writes mode must be 'skip' or 'apply', got {self.writes!r}")
        if self.slow_seconds < 0:
            raise ValueError(f"slow_seconds must not be negative, got {self.slow_seconds}")


class FaultInjector:
    """Draws faults from a seeded RNG, one draw per API request, thread-safe."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(plan or FaultPlan())

    def configure(self, plan: FaultPlan) -> None:
        """Replace the plan and reseed."""
        with self._lock:
            self.plan = plan
            self._rng = random.Random(plan.seed)

    def draw(self) -> str | None:
        """The fault kind for the next request, or None."""
        with self._lock:
            if self.plan.rate <= 0:
                return None
            if self._rng.random() >= self.plan.rate:
                return None
            return self._rng.choice(self.plan.kinds)

    def summary(self) -> dict[str, t.Any]:
        """The plan as JSON."""
        p = self.plan
        return {"rate": p.rate, "seed": p.seed, "kinds": list(p.kinds), "writes": p.writes, "slowSeconds": p.slow_seconds}
