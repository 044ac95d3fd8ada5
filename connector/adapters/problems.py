"""Mapping problems with file:line, for every adapter's ``check``: one reporter, one "did you mean".

CRM-neutral: an adapter's check compares its mapping with the CRM and reports each mismatch at the
key of the mapping file that causes it (``mappings/x.yaml:12: contacts.properties.job_title: ...``).
"""

from __future__ import annotations

import difflib
import typing as t

from connector.yamlfile import FileProblem, YamlFileError, line_of, load_yaml

__all__ = ["MappingReport", "hint"]


def hint(name: str, known: t.Iterable[str], *, quoted: bool = False) -> str:
    """`` (did you mean A, B?)`` for the closest known names, or an empty string.

    ``quoted``: names shown with quotes, for names that hold spaces (form names).
    """
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) if quoted else c for c in close)}?)" if close else ""


class MappingReport:
    """Collects problems of one mapping file, each located at the line of its key.

    Args:
        source: the mapping file (``None``: a mapping built in code, reported as ``<mapping>``).
    """

    def __init__(self, source: str | None) -> None:
        self.source = source or "<mapping>"
        self.problems: list[FileProblem] = []
        self._node = None
        if source:
            try:
                _, self._node = load_yaml(source)
            except YamlFileError:
                self._node = None

    def __call__(self, loc: tuple[t.Any, ...], message: str) -> None:
        """Report ``message`` at the key ``loc`` (``("contacts", "properties", "job_title")``)."""
        self.problems.append(FileProblem(self.source, line_of(self._node, loc), ".".join(str(p) for p in loc), message))
