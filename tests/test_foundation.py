"""The package installs, its console script answers, and the layout rules hold."""

from __future__ import annotations

import ast
import pathlib

from typer.testing import CliRunner

from connector.cli import app

PKG = pathlib.Path(__file__).resolve().parent.parent / "connector"


def test_cli_answers_version() -> None:
    result = CliRunner().invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.strip()


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _check_room(room: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in (PKG / room).rglob("*.py"):
        for name in _imports(path):
            if name.startswith(forbidden):
                bad.append(f"{path.relative_to(PKG.parent)} imports {name}")
    return bad


def test_scoring_core_imports_nothing_from_other_rooms() -> None:
    assert _check_room("scoring", ("connector.sync", "connector.adapters", "connector.sandbox", "connector.cli")) == []


def test_adapters_do_not_import_sync_or_sandbox() -> None:
    assert _check_room("adapters", ("connector.sync", "connector.sandbox", "connector.cli")) == []


def test_sandbox_does_not_import_adapters_or_sync() -> None:
    assert _check_room("sandbox", ("connector.adapters", "connector.sync", "connector.cli", "connector.scoring")) == []
