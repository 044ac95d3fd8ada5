"""CRM adapters. ``load_mapping`` reads any CRM mapping file, dispatching on its ``crm:`` key."""

from __future__ import annotations

import importlib
import pathlib
import typing as t

from connector.yamlfile import FileProblem, YamlFileError, line_of, load_yaml

__all__ = ["MAPPING_LOADERS", "describe_mapping", "load_mapping"]

#: ``crm:`` value -> module with a ``load_mapping(path)`` function (imported only when needed).
MAPPING_LOADERS: dict[str, str] = {
    "hubspot": "connector.adapters.hubspot.mapping",
    "salesforce": "connector.adapters.salesforce.mapping",
}


def load_mapping(path: str | pathlib.Path) -> t.Any:
    """Load a CRM mapping file with the loader its top-level ``crm:`` key names.

    Raises:
        YamlFileError: unreadable YAML, a missing/unknown ``crm:`` key, or an invalid mapping;
            every problem names file, line and key.
    """
    data, node = load_yaml(path)
    name = str(path)
    if not isinstance(data, dict) or "crm" not in data:
        raise YamlFileError([FileProblem(name, 1, "crm", "a CRM mapping starts with 'crm: hubspot' or 'crm: salesforce'")])
    crm = data["crm"]
    module_name = MAPPING_LOADERS.get(str(crm))
    if module_name is None:
        known = ", ".join(sorted(MAPPING_LOADERS))
        raise YamlFileError([FileProblem(name, line_of(node, ("crm",)), "crm", f"unknown CRM {crm!r} (known: {known})")])
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        raise YamlFileError([FileProblem(name, line_of(node, ("crm",)), "crm", f"{crm} mappings are not supported by this version yet")]) from None
    return module.load_mapping(path)


def describe_mapping(path: str | pathlib.Path) -> str:
    """Validate a mapping file and summarise it in one line (for ``connector validate``'s dispatch table).

    Raises:
        YamlFileError: as :func:`load_mapping`.
    """
    mapping = load_mapping(path)
    contacts = getattr(mapping, "contacts", None)
    count = len(getattr(contacts, "properties", {}) or {})
    return f"{getattr(mapping, 'crm', 'CRM')} mapping: {count} contact properties"
