"""Load scoring-model YAML files, alone or as a project's set of models.

Everything an admin writes goes through :func:`connector.yamlfile.load_yaml_model`, so every
error names the file, the line and the key. Checks that need several models at once (two
models with one name, two models writing the same CRM output) live here.
"""

from __future__ import annotations

import pathlib
import typing as t

from connector.scoring.model import ScoringModel
from connector.yamlfile import FileProblem, YamlFileError, line_of, load_yaml, load_yaml_model

if t.TYPE_CHECKING:
    from connector.scoring.engine import Predictor

__all__ = ["load_model", "load_models", "load_predictors"]


def _problem(path: pathlib.Path, loc: tuple[t.Any, ...], key: str, message: str) -> FileProblem:
    """A problem at ``loc`` (a key path) in ``path``, with its line when the file parses."""
    try:
        _, node = load_yaml(path)
    except YamlFileError:
        node = None
    return FileProblem(str(path), line_of(node, loc), key, message)


_OUTPUT_WHAT = {"score": "the total score", "grade": "the grade", "matrix": "the matrix", "stage": "the stage", "reasons": "the reasons", "scored_at": "the scoring time"}


def _output_origin(model: ScoringModel, key: str) -> tuple[tuple[t.Any, ...], str, str]:
    """Where output ``key`` (``score``, ``dimension:fit``, ...) gets its name: place, key path, and what it is.

    An explicit name points at its ``outputs`` entry; a default one at what it derives from (a
    dimension's own entry, since that is what an admin would rename).
    """
    if key.startswith("dimension:"):
        dim = key.removeprefix("dimension:")
        if dim in model.outputs.dimensions:
            return ("outputs", "dimensions", dim), f"outputs.dimensions.{dim}", f"dimension '{dim}'"
        return ("dimensions", dim), f"dimensions.{dim}", f"dimension '{dim}'"
    if getattr(model.outputs, key, None) is not None:
        return ("outputs", key), f"outputs.{key}", _OUTPUT_WHAT[key]
    return ("outputs",), "outputs", _OUTPUT_WHAT[key]


def _renaming_hint(model: ScoringModel, key: str, name: str) -> str:
    """How to give output ``key`` another name."""
    if key.startswith("dimension:"):
        dim = key.removeprefix("dimension:")
        return f"rename the dimension, or give its output another name: outputs: {{dimensions: {{{dim}: {name}_dimension}}}}"
    return f"give it another name under outputs.{key}"


def _own_output_clashes(model: ScoringModel, path: pathlib.Path) -> list[FileProblem]:
    """Two outputs of one model mapped to the same name would overwrite each other in the CRM.

    The problem points at the output an admin would rename: a dimension's entry rather than the
    total's (a dimension called ``score`` collides with the default ``<model>_score``).
    """
    seen: dict[str, str] = {}
    problems = []
    for key, name in model.output_names().items():
        if name in seen:
            first = seen[name]
            blamed, other = (key, first) if key.startswith("dimension:") or not first.startswith("dimension:") else (first, key)
            loc, where, what = _output_origin(model, blamed)
            other_what = _output_origin(model, other)[2]
            message = f"{what} writes output '{name}', which {other_what} writes too; {_renaming_hint(model, blamed, name)}"
            problems.append(_problem(path, loc, where, message))
        seen.setdefault(name, key)
    return problems


def load_model(path: str | pathlib.Path) -> ScoringModel:
    """Load and validate one model file; raises :class:`YamlFileError` listing every problem."""
    path = pathlib.Path(path)
    model = load_yaml_model(path, ScoringModel, what="scoring model")
    problems = _own_output_clashes(model, path)
    if problems:
        raise YamlFileError(problems)
    return model


def load_models(paths: t.Iterable[str | pathlib.Path]) -> list[ScoringModel]:
    """Load several models; problems of all files are collected, then cross-model clashes checked.

    Two models with the same name, or two models writing the same output name, are errors:
    the second would silently overwrite the first model's scores in the CRM.
    """
    problems: list[FileProblem] = []
    loaded: list[tuple[pathlib.Path, ScoringModel]] = []
    for raw in paths:
        path = pathlib.Path(raw)
        try:
            loaded.append((path, load_model(path)))
        except YamlFileError as exc:
            problems.extend(exc.problems)
    names: dict[str, pathlib.Path] = {}
    outputs: dict[str, tuple[str, pathlib.Path]] = {}
    for path, model in loaded:
        if model.model in names:
            problems.append(_problem(path, ("model",), "model", f"model name '{model.model}' is also used by {names[model.model]}"))
        names.setdefault(model.model, path)
        for key, name in model.output_names().items():
            if name in outputs and outputs[name][0] != model.model:
                other, other_path = outputs[name]
                loc, where, what = _output_origin(model, key)
                problems.append(_problem(path, loc, where, f"{what} writes output '{name}', which model '{other}' ({other_path}) writes too; {_renaming_hint(model, key, name)}"))
            outputs.setdefault(name, (model.model, path))
    if problems:
        raise YamlFileError(problems)
    return [model for _, model in loaded]


def load_predictors(model: ScoringModel, path: str | pathlib.Path) -> dict[str, Predictor]:
    """Load the predictor of every predictive dimension (its ``model_file`` is relative to ``path``).

    ``connector.scoring.predictive`` is imported only when a model needs it; a model file that
    cannot be loaded is a problem naming the file, line and key.
    """
    path = pathlib.Path(path)
    predictors: dict[str, Predictor] = {}
    for name, dim in model.dimensions.items():
        if dim.predictive is None:
            continue
        loc = ("dimensions", name, "predictive", "model_file")
        key = f"dimensions.{name}.predictive.model_file"
        from connector.scoring.predictive import load_predictor

        target = path.parent / dim.predictive.model_file
        try:
            predictors[name] = load_predictor(target, name)
        except YamlFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise YamlFileError([_problem(path, loc, key, f"cannot load predictive model {target}: {exc}")]) from None
    return predictors
