"""Seeded fault injection: some requests get a 429, a 5xx, a dropped socket or a slow answer.

Clients must survive what HubSpot does on a bad day; a fixed seed makes a failing test
reproducible. For writes, ``writes="skip"`` answers the fault without applying the write and
``writes="apply"`` applies it first (HubSpot can do either; a client must retry idempotently).
"""

from __future__ import annotations

import dataclasses
import random
import threading
import typing as t

__all__ = ["ALL_KINDS", "FaultInjector", "FaultPlan"]

ALL_KINDS = ("429", "500", "502", "503", "drop", "slow")


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """The configuration: how often, which kinds, what a faulted write means."""

    rate: float = 0.0
    seed: int = 0
    kinds: tuple[str, ...] = ALL_KINDS
    writes: str = "skip"
    slow_seconds: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be between 0 and 1, got {self.rate}")
        unknown = [k for k in self.kinds if k not in ALL_KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"unknown fault kinds {unknown}; choose from {list(ALL_KINDS)}")
        if self.writes not in ("skip", "apply"):
            raise ValueError(f"fault writes mode must be 'skip' or 'apply', got {self.writes!r}")


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
