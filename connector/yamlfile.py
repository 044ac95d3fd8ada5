"""Load a YAML file into a pydantic model, with errors that name the file, the line and the key.

Every admin-written file (scoring models, CRM mappings, ``connector.yaml``) goes through here, so
a RevOps admin always reads the same kind of message::

    mappings/models/product-a.yaml:14: rules[2].activity.max_times: Input should be greater than 0

The trick: keep the node tree. PyYAML's safe loader composes nodes (each with its position), then
constructs the data pydantic validates from them. A pydantic error location (``('rules', 2,
'activity')``) is walked down the node tree to find the line of the deepest node that exists.
The tree also shows what the data hides: a key written twice in one mapping (YAML silently keeps
the last), which is an error here.
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


#: Byte-order marks of the encodings a YAML file may use (YAML 1.1 allows UTF-8 and UTF-16).
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 (with or without a byte-order mark) or UTF-16 with one; a bad byte names its line."""
    encoding = next((name for bom, name in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding != "utf-8":
            raise YamlFileError([FileProblem(name, None, "", f"not valid {encoding.upper()} text ({exc.reason}); save the file as UTF-8")]) from None
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1 : exc.start].decode("utf-8", "replace")) + 1
        message = f"byte 0x{raw[exc.start]:02X} at column {column} is not UTF-8; save the file as UTF-8"
        raise YamlFileError([FileProblem(name, line, "", message)]) from None


class _BadValue(yaml.constructor.ConstructorError):
    """A scalar whose tag its text cannot satisfy (a date that is no date)."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader whose value errors carry the place of the value.

    The safe constructors raise bare ``ValueError``/``TypeError`` for values their tag promises
    but their text breaks (``2024-13-45`` resolves as a date, ``!!int x``): rewrapped here as
    the marked errors every other YAML problem is, so the admin reads a line, not a traceback.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> t.Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.MarkedYAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, KeyError, IndexError) as exc:
            shown = node.value if isinstance(node, yaml.ScalarNode) else node.tag
            why = f": {exc}" if type(exc) is ValueError else ""
            raise _BadValue(None, None, f"cannot read {shown!r} as {node.tag.rsplit(':', 1)[-1]}{why}", node.start_mark) from None


def _key_label(node: yaml.Node) -> tuple[str, str] | None:
    """What makes two mapping keys the same key to PyYAML: tag and text (``None``: not a plain key)."""
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:merge":
        return None
    return node.tag, node.value.casefold() if node.tag == "tag:yaml.org,2002:bool" else node.value


def _duplicate_keys(root: yaml.Node | None, name: str) -> list[FileProblem]:
    """Every key written twice in one mapping, at the line of its repeat.

    YAML keeps the last value of a repeated key without a word: a second ``rules:`` block
    replaced the first one's rules while the model still validated. Aliases may share nodes
    (or even loop), so each node is visited once.
    """
    problems: list[FileProblem] = []
    visited: set[int] = set()
    stack: list[tuple[yaml.Node, tuple[t.Any, ...]]] = [(root, ())] if root is not None else []
    while stack:
        node, loc = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, value_node in node.value:
                label = _key_label(key_node)
                here = key_node.start_mark.line + 1
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "<<"
                if label is not None and label in first:
                    problems.append(
                        FileProblem(name, here, _key_path((*loc, key)), f"key '{key}' appears twice in one mapping (first on line {first[label]}); YAML would keep only this last one, so remove or merge one of them")
                    )
                elif label is not None:
                    first[label] = here
                stack.append((value_node, (*loc, key)))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, (*loc, i)) for i, child in enumerate(node.value))
    return sorted(problems, key=lambda p: p.line or 0)


def load_yaml(path: str | pathlib.Path) -> tuple[t.Any, yaml.Node | None]:
    """Read and parse a YAML file: its data and its node tree (for lines).

    Syntax errors, values their tag cannot hold, bytes that are not UTF-8 and keys written twice
    in one mapping all become a :class:`YamlFileError` naming the line.
    """
    path = pathlib.Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise YamlFileError([FileProblem(name, None, "", "file not found")]) from None
    except OSError as exc:
        raise YamlFileError([FileProblem(name, None, "", f"cannot read file: {exc.strerror or exc}")]) from None
    text = _decode(raw, name)
    loader: _Loader | None = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        duplicates = _duplicate_keys(node, name)
        if duplicates:
            raise YamlFileError(duplicates)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        message = f"{exc.problem}" if isinstance(exc, _BadValue) else f"YAML syntax error: {exc.problem or exc.context}"
        raise YamlFileError([FileProblem(name, line, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlFileError([FileProblem(name, line, "", f"YAML syntax error: character U+{exc.character:04X} is not allowed in YAML text")]) from None
    except yaml.YAMLError as exc:
        raise YamlFileError([FileProblem(name, None, "", f"YAML syntax error: {exc}")]) from None
    except RecursionError:
        raise YamlFileError([FileProblem(name, None, "", "the document nests lists or mappings too deeply to read")]) from None
    finally:
        if loader is not None:
            loader.dispose()
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
