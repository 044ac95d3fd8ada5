"""Load a YAML file into a pydantic model, with errors that name the file, the line and the key.

Every admin-written file (scoring models, CRM mappings, ``connector.yaml``) goes through here, so
a RevOps admin always reads the same kind of message::

    mappings/models/product-a.yaml:14: rules[2].activity.max_times: Input should be greater than 0

The trick: parse twice. ``yaml.compose`` keeps each node's position; ``yaml.safe_load`` gives the
data pydantic validates. A pydantic error location (``('rules', 2, 'activity')``) is walked down the
node tree to find the line of the deepest node that exists.
"""

from __future__ import annotations

import dataclasses as dc
import pathlib
import typing as t

import yaml
from pydantic import BaseModel, ValidationError

__all__ = ["FileProblem", "LocatedError", "YamlFileError", "line_of", "load_yaml", "load_yaml_model"]

M = t.TypeVar("M", bound=BaseModel)


@dc.dataclass(frozen=True, slots=True)
class FileProblem:
    """One problem in one file, at a line (1-based) and key path when known."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class LocatedError(ValueError):
    """Raised by a model validator to point at a nested key (e.g. ``("rules", 3, "dimension")``).

    Cross-reference checks run on the whole model, so pydantic would place their errors at the
    top of the file; this carries the real place along.
    """

    def __init__(self, loc: t.Sequence[t.Any], message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


class YamlFileError(ValueError):
    """A YAML file that cannot be used; ``problems`` lists every problem found, each with its place."""

    def __init__(self, problems: t.Sequence[FileProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def _key_path(loc: t.Sequence[t.Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def line_of(node: yaml.Node | None, loc: t.Sequence[t.Any]) -> int | None:
    """The 1-based line of the deepest node along ``loc`` (a pydantic error location)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                    child = value_node
                    line = key_node.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            # pydantic adds union-member names (e.g. 'Condition') to locations: skip those parts.
            continue
        node = child
    return line


def load_yaml(path: str | pathlib.Path) -> tuple[t.Any, yaml.Node | None]:
    """Read and parse a YAML file; syntax errors become a :class:`YamlFileError` with the line."""
    path = pathlib.Path(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YamlFileError([FileProblem(name, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlFileError([FileProblem(name, None, "", f"cannot read file: {exc}")]) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise YamlFileError([FileProblem(name, line, "", message)]) from None
    except yaml.YAMLError as exc:
        raise YamlFileError([FileProblem(name, None, "", f"YAML syntax error: {exc}")]) from None
    return data, node


def load_yaml_model(path: str | pathlib.Path, model: type[M], *, what: str = "file") -> M:
    """Load ``path`` and validate it as ``model``; every problem is reported with file, line and key.

    ``what`` names the kind of file in the message for an empty or non-mapping document
    (e.g. ``"scoring model"``).
    """
    name = str(path)
    data, node = load_yaml(path)
    if not isinstance(data, dict):
        raise YamlFileError([FileProblem(name, 1, "", f"a {what} must be a YAML mapping of keys to values, got {type(data).__name__}")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = list(err["loc"])
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, LocatedError):
                loc += list(cause.loc)
            keys = [p for p in loc if isinstance(p, int) or _is_data_key(p, node, loc)]
            message = err["msg"].removeprefix("Value error, ")
            problems.append(FileProblem(name, line_of(node, loc), _key_path(keys), message))
        raise YamlFileError(_dedupe(problems)) from None


def _is_data_key(part: t.Any, node: yaml.Node | None, loc: t.Sequence[t.Any]) -> bool:
    """Drop the union-member tags pydantic puts into locations.

    Tagged unions in our schemas use tags written ``<like-this>``; plain unions add the member's
    class name (``Condition``) or ``function-...`` for validators.
    """
    if not isinstance(part, str):
        return True
    return not (part.startswith(("<", "function-")) or (part[:1].isupper() and part.isidentifier()))


def _dedupe(problems: list[FileProblem]) -> list[FileProblem]:
    """Union validation reports one error per member; keep one per place and message."""
    seen: set[tuple[t.Any, ...]] = set()
    out = []
    for p in problems:
        key = (p.line, p.key, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
