"""connector.yaml: defaults, relative paths, env overrides, and errors naming file:line:key."""

from __future__ import annotations

import pathlib

import pytest

from connector.sync.config import config_path, load_config
from connector.yamlfile import YamlFileError
from tests.sync.conftest import write_config


def test_relative_paths_resolve_against_the_config_folder(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///state.db"))
    crm = config.crm("main")
    assert crm.mapping == tmp_path / "mapping.yaml"
    assert crm.models == [tmp_path / "model.yaml"]
    assert config.effective_database_url({}) == f"sqlite:///{tmp_path / 'state.db'}"


def test_database_url_env_overrides_the_file(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///state.db"))
    assert config.effective_database_url({"DATABASE_URL": "postgresql+psycopg://x@h/db"}) == "postgresql+psycopg://x@h/db"


def test_defaults(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///state.db"))
    crm = config.crm(None)
    assert crm.schedule.every_minutes == 15
    assert crm.schedule.full_rescore_at == "03:00"
    assert config.log_format == "text"
    assert crm.reasons_limit == 500


def test_config_path_precedence() -> None:
    assert config_path("a.yaml", {"CONNECTOR_CONFIG": "b.yaml"}) == pathlib.Path("a.yaml")
    assert config_path(None, {"CONNECTOR_CONFIG": "b.yaml"}) == pathlib.Path("b.yaml")
    assert config_path(None, {}) == pathlib.Path("connector.yaml")


def _problems(path: pathlib.Path) -> list[str]:
    with pytest.raises(YamlFileError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_wrong_type_names_file_line_and_key(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", "    schedule: {interval_minutes: often}\n")
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:11: crms[0].schedule.interval_minutes:")


def test_unknown_key_is_an_error(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", "    shedule: {cron: '* * * * *'}\n")
    (problem,) = _problems(path)
    assert f"{path}:11: crms[0].shedule:" in problem


def test_bad_cron_line(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", "    schedule:\n      cron: 'every day'\n")
    (problem,) = _problems(path)
    assert f"{path}:12: crms[0].schedule.cron: invalid cron line" in problem


def test_pasted_secret_is_refused_without_echoing_it(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    path.write_text(path.read_text().replace("TEST_TOKEN_VAR", "pat-na1-0123-secret-value"))
    (problem,) = _problems(path)
    assert "crms[0].credentials" in problem and "NAME of an environment variable" in problem
    assert "pat-na1" not in problem


def test_missing_model_file_names_the_line(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    (tmp_path / "model.yaml").unlink()
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:8: crms[0].models[0]: file not found")


def test_duplicate_crm_names(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    text = path.read_text()
    crm = text[text.index("  - name: main"):]
    path.write_text(text + crm)
    problems = _problems(path)
    assert any("crms[1].name: CRM name 'main' is used twice" in p for p in problems)


def test_choosing_a_crm(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///s.db"))
    with pytest.raises(KeyError, match="no CRM named 'other'"):
        config.crm("other")
