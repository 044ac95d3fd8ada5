"""connector.yaml: defaults, relative paths, env overrides, and errors naming file:line:key."""

from __future__ import annotations

import pathlib

import pytest

from connector.sync.config import config_path, load_config
from connector.yamlfile import YamlFileError
from tests.sync.conftest import line_of, write_config


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
    assert crm.reasons_limit == 300  # the fake CRM's declared longest text
    assert crm.limits.requests == 1000 and crm.limits.searches_per_second == 1000  # its declared rate limits


def test_config_path_precedence() -> None:
    assert config_path("a.yaml", {"CONNECTOR_CONFIG": "b.yaml"}) == pathlib.Path("a.yaml")
    assert config_path(None, {"CONNECTOR_CONFIG": "b.yaml"}) == pathlib.Path("b.yaml")
    assert config_path(None, {}) == pathlib.Path("connector.yaml")


def _problems(path: pathlib.Path) -> list[str]:
    with pytest.raises(YamlFileError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_wrong_type_names_file_line_and_key(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", schedule={"interval_minutes": "often"})
    (problem,) = _problems(path)
    assert problem.startswith(f"{path}:{line_of(path, 'interval_minutes')}: crms[0].schedule.interval_minutes:")


def test_unknown_key_is_an_error(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", shedule={"cron": "* * * * *"})
    (problem,) = _problems(path)
    assert f"{path}:{line_of(path, 'shedule')}: crms[0].shedule:" in problem


def test_bad_cron_line(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db", schedule={"cron": "every day"})
    (problem,) = _problems(path)
    assert f"{path}:{line_of(path, 'cron:')}: crms[0].schedule.cron: invalid cron line" in problem


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
    assert problem.startswith(f"{path}:{line_of(path, '- model.yaml')}: crms[0].models[0]: file not found")


def test_duplicate_crm_names(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    text = path.read_text()
    crm = text[text.index("- name: main"):]
    path.write_text(text + crm)
    problems = _problems(path)
    assert any("crms[1].name: CRM name 'main' is used twice" in p for p in problems)


def test_choosing_a_crm(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///s.db"))
    with pytest.raises(KeyError, match="no CRM named 'other'"):
        config.crm("other")


def test_unknown_adapter_names_the_registered_ones(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    path.write_text(path.read_text().replace("adapter: tests.fakecrm", "adapter: hubsopt"))
    (problem,) = _problems(path)
    assert f"{path}:{line_of(path, 'hubsopt')}: crms[0].adapter:" in problem and "unknown adapter 'hubsopt'" in problem and "registered: hubspot" in problem
    path.write_text(path.read_text().replace("adapter: hubsopt", "adapter: tests.no_such_crm"))
    (problem,) = _problems(path)
    assert "cannot import tests.no_such_crm" in problem
    path.write_text(path.read_text().replace("adapter: tests.no_such_crm", "adapter: tests.sync"))
    (problem,) = _problems(path)
    assert "tests.sync exposes no ADAPTER declaration" in problem


def test_rate_limit_keys_override_the_adapters_defaults(tmp_path: pathlib.Path) -> None:
    config = load_config(write_config(tmp_path, "sqlite:///s.db", rate_limit={"requests": 40, "daily": 900}))
    limits = config.crm("main").limits
    assert (limits.requests, limits.per_seconds, limits.searches_per_second, limits.daily) == (40, 1.0, 1000.0, 900)


def test_the_removed_push_process_key_says_so(tmp_path: pathlib.Path) -> None:
    path = write_config(tmp_path, "sqlite:///s.db")
    path.write_text(path.read_text().replace("push_size: 100", "push_size: 100\n  push_process_after: 5000"))
    (problem,) = _problems(path)
    assert "batch.push_process_after" in problem and "removed" in problem
