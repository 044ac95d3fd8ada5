"""What ``connector setup`` asks a CRM to hold: one :class:`OutputSpec` per output field.

CRM-neutral: the scoring models say which outputs they write and of what kind (a number, an
option of a known list, text, a timestamp); each adapter turns a spec into its CRM's own field type
(HubSpot: a property of type ``number``, ``enumeration``, ``string`` or ``datetime``).
"""

from __future__ import annotations

import dataclasses as dc
import typing as t

if t.TYPE_CHECKING:
    from connector.scoring.model import ScoringModel

__all__ = ["OutputKind", "OutputSpec", "action_specs", "specs_from_models"]

OutputKind = t.Literal["number", "enumeration", "text", "datetime"]


@dc.dataclass(frozen=True, slots=True)
class OutputSpec:
    """One output field a scoring model writes, as the CRM must hold it."""

    name: str
    kind: OutputKind
    options: tuple[str, ...] = ()
    label: str | None = None
    #: ``score``, ``dimension``, ``grade``, ``matrix``, ``stage``, ``reasons``, ``scored_at``; ``action``:
    #: a field a ``set_property`` trigger action writes.
    role: str = "score"
    model: str | None = None


def specs_from_models(models: t.Sequence[ScoringModel]) -> list[OutputSpec]:
    """The output fields (with kinds and options) that these models write, one per name.

    Fields that trigger actions set (``set_property``) come last, as text, with role ``property``:
    an adapter creates them only where the CRM has no field of that name.
    """
    out: dict[str, OutputSpec] = {}
    for model in models:
        for key, name in model.output_names().items():
            role = key.split(":", 1)[0]
            label = f"{model.model} {key.replace('dimension:', '').replace('_', ' ')}"
            options: tuple[str, ...] = ()
            kind: OutputKind = "number"
            if role == "grade" and model.grade is not None:
                kind, options = "enumeration", tuple(b.label for b in model.grade.bands)
            elif role == "matrix" and model.matrix is not None:
                rows, cols = model.matrix.rows.bands, model.matrix.columns.bands
                kind, options = "enumeration", tuple(r.label + c.label for r in rows for c in cols)
            elif role == "stage" and model.stages is not None:
                kind, options = "enumeration", tuple(s.name for s in model.stages.order)
            elif role == "reasons":
                kind = "text"
            elif role == "scored_at":
                kind = "datetime"
            out[name] = OutputSpec(name, kind, options, label, role, model.model)
    for spec in action_specs(models):
        out.setdefault(spec.name, spec)  # an output written by an action too keeps the output's kind
    return list(out.values())


def action_specs(models: t.Sequence[ScoringModel]) -> list[OutputSpec]:
    """The fields the models' ``set_property`` trigger actions write (role ``action``), one per name.

    The kind follows the values written: ``true``/``false`` only -> an enumeration of those two
    (a CRM may hold it as a checkbox), numbers only -> ``number``, anything else -> ``text``.
    Without the field the CRM refuses the write (HubSpot: ``PROPERTY_DOESNT_EXIST``).
    """
    values: dict[str, list[t.Any]] = {}
    owner: dict[str, str] = {}
    for model in models:
        for trigger in model.triggers:
            for action in trigger.actions:
                if action.type == "set_property" and action.property:
                    values.setdefault(action.property, []).append(action.value)
                    owner.setdefault(action.property, model.model)
    out: list[OutputSpec] = []
    for name, written in values.items():
        texts = {str(v).strip().lower() for v in written}
        kind: OutputKind = "text"
        options: tuple[str, ...] = ()
        if texts <= {"true", "false"}:
            kind, options = "enumeration", ("true", "false")
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in written):
            kind = "number"
        out.append(OutputSpec(name, kind, options, name.replace("_", " ").capitalize(), "action", owner[name]))
    return out
