"""Write policy: which changed outputs are worth a write to the CRM.

Every write has a cost in the CRM beyond the API call: it moves the record's last-modified date and
can start the portal's workflows that trigger on a property change. Without a policy, each decay
step of a score (a page view losing half its points every week) rewrites the contact. A policy per
output (``write_policy`` of a ``crms[]`` entry in ``connector.yaml``) holds back small moves:

* ``min_change: N`` (numbers): write only when the value moved by at least ``N`` since the value
  last *written* (held-back moves add up, so the CRM is never more than ``N`` off);
* ``bands: [60, 120]`` (numbers): write whenever the value crosses one of these, however small the
  move (a list or workflow keyed on "score >= 120" sees every crossing);
* ``only_with: [outputs]``: write only together with one of these (e.g. the reasons summary or
  ``scored_at`` only when the score, grade or stage is written).

Outputs without a policy are written whenever they change (stages and grades should stay so). The
policy is applied where the outbox is staged (:func:`connector.sync.outbox.stage_changes`): what
it holds back is simply not staged, and the next scoring compares with the last written value again.

Validated with the models of the entry when ``connector.yaml`` is loaded: each problem names the
file, the line and the key (:func:`policy_problems`).
"""

from __future__ import annotations

import difflib
import typing as t

from pydantic import BaseModel, ConfigDict, Field, field_validator

if t.TYPE_CHECKING:
    from connector.adapters.specs import OutputSpec

__all__ = ["OutputPolicy", "WritePolicy", "held_back", "policy_problems"]


class OutputPolicy(BaseModel):
    """When one output is written (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Smallest move worth a write (numbers only); ``None``: every change.
    min_change: float | None = Field(default=None, gt=0)
    #: Values whose crossing is always written (numbers only).
    bands: tuple[float, ...] = ()
    #: Write only together with one of these outputs.
    only_with: tuple[str, ...] = ()

    @field_validator("bands")
    @classmethod
    def _sorted(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(sorted(set(value)))


#: canonical output name -> its policy.
WritePolicy = t.Mapping[str, OutputPolicy]


def _number(value: t.Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _small_move(policy: OutputPolicy, old: t.Any, new: t.Any) -> bool:
    """Whether a number moved by less than ``min_change`` without crossing a band."""
    a, b = _number(old), _number(new)
    if policy.min_change is None or a is None or b is None:
        return False
    low, high = min(a, b), max(a, b)
    if any(low < band <= high for band in policy.bands):
        return False
    return high - low < policy.min_change


def held_back(policy: WritePolicy, diff: t.Mapping[str, t.Any], written: t.Mapping[str, t.Any]) -> set[str]:
    """The fields of ``diff`` (field -> new value) the policy does not write now.

    ``written``: field -> the value last written (or on its way); a field never written is always
    written (a first write is never small).
    """
    held = {f for f, v in diff.items() if f in policy and f in written and _small_move(policy[f], written[f], v)}
    for f in diff:
        companions = policy[f].only_with if f in policy else ()
        if companions and f not in held and not any(c in diff and c not in held for c in companions):
            held.add(f)
    return held


def policy_problems(policy: WritePolicy, specs: t.Sequence[OutputSpec]) -> list[tuple[tuple[t.Any, ...], str]]:
    """Everything wrong with ``policy`` for outputs ``specs``: ``(key path, message)`` each."""
    kinds = {s.name: s.kind for s in specs if s.role != "action"}
    problems: list[tuple[tuple[t.Any, ...], str]] = []

    def unknown(name: str) -> str:
        close = difflib.get_close_matches(name, sorted(kinds), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(close)}?)" if close else f" (outputs: {', '.join(sorted(kinds))})"
        return f"no model of this CRM writes an output '{name}'{hint}"

    for name, rule in policy.items():
        if name not in kinds:
            problems.append(((name,), unknown(name)))
            continue
        if kinds[name] != "number":
            for key in ("min_change", "bands"):
                if getattr(rule, key):
                    problems.append(((name, key), f"'{key}' applies to numbers; output '{name}' is {kinds[name]} (write it on every change, or use only_with)"))
        for i, other in enumerate(rule.only_with):
            if other not in kinds:
                problems.append(((name, "only_with", i), unknown(other)))
            elif other == name:
                problems.append(((name, "only_with", i), f"output '{name}' cannot be written only together with itself"))
    return problems
