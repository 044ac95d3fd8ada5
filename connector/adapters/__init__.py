"""CRM adapters, and the one registry the rest of the connector finds them through.

Each adapter package (``connector/adapters/<crm>/``) exposes ``ADAPTER``, an
:class:`~connector.adapters.base.AdapterSpec` declaring what the connector needs to know about its
CRM. :data:`REGISTRY` lists the packages that ship with the connector, one line per CRM. The
``adapter:`` key of ``connector.yaml`` (and the ``crm:`` key of a mapping file) takes a registered
name, or the dotted path of any importable package exposing the same ``ADAPTER`` -- a CRM that
ships outside this repository plugs in without a line changed here. Packages are imported only
when their adapter is asked for.
"""

from __future__ import annotations

import importlib
import pathlib
import re
import types
import typing as t

from connector.adapters.base import AdapterSpec
from connector.yamlfile import FileProblem, YamlFileError, line_of, load_yaml

__all__ = ["REGISTRY", "UnknownAdapter", "adapter_spec", "load_mapping"]

#: Registered name -> the adapter package exposing ``ADAPTER``. One line per CRM.
REGISTRY: t.Mapping[str, str] = types.MappingProxyType(
    {
        "hubspot": "connector.adapters.hubspot",
        "salesforce": "connector.adapters.salesforce",
    }
)

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class UnknownAdapter(ValueError):
    """An adapter name that is neither registered nor the dotted path of an adapter package."""


def adapter_spec(name: str) -> AdapterSpec:
    """The declaration of the adapter ``name``: a registered name or a package's dotted path.

    Raises:
        UnknownAdapter: not registered, not importable, or the package exposes no ``ADAPTER``.
    """
    registered = ", ".join(sorted(REGISTRY))
    module_name = REGISTRY.get(name)
    if module_name is None:
        if not _DOTTED.match(name):
            raise UnknownAdapter(f"unknown adapter {name!r} (registered: {registered}; or the dotted path of a package exposing ADAPTER)")
        module_name = name
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownAdapter(f"adapter {name!r}: cannot import {module_name} ({exc}); registered adapters: {registered}") from None
    spec = getattr(module, "ADAPTER", None)
    if not isinstance(spec, AdapterSpec):
        raise UnknownAdapter(f"adapter {name!r}: {module_name} exposes no ADAPTER declaration (an AdapterSpec)")
    return spec


def load_mapping(path: str | pathlib.Path) -> object:
    """Load a CRM mapping file with the loader of the adapter its top-level ``crm:`` key names.

    Raises:
        YamlFileError: unreadable YAML, a missing or unknown ``crm:`` key, or an invalid mapping;
            every problem names file, line and key.
    """
    data, node = load_yaml(path)
    where = str(path)
    if not isinstance(data, dict) or "crm" not in data:
        raise YamlFileError([FileProblem(where, 1, "crm", f"a CRM mapping starts with 'crm: <adapter>' (registered: {', '.join(sorted(REGISTRY))})")])
    try:
        spec = adapter_spec(str(data["crm"]))
    except UnknownAdapter as exc:
        raise YamlFileError([FileProblem(where, line_of(node, ("crm",)), "crm", str(exc))]) from None
    return spec.load_mapping(pathlib.Path(path))
