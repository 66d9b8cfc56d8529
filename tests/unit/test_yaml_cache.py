"""A large YAML file's parse kept until the file changes: the same data and lines back, a
changed or just-written file parsed again, a value JSON cannot carry never kept."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from octopus import yaml_cache
from octopus.yamlfile import LineDict, load_yaml


@pytest.fixture(autouse=True)
def small_files_count(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(yaml_cache, "CACHE_MIN_BYTES", 10)


def counting(calls: list[Path]) -> Any:
    def parse(path: Path) -> Any:
        calls.append(path)
        return load_yaml(path)

    return parse


def settled(path: Path, text: str) -> Path:
    """Write `text`, dated a minute back (not racily new)."""
    path.write_text(text)
    old = path.stat().st_mtime - 60
    os.utime(path, (old, old))
    return path


def test_an_unchanged_file_is_parsed_once_with_its_lines_kept(tmp_path: Path):
    path = settled(tmp_path / "exp.yaml", "# top\nscreens_per_node: 2\npython_version: 3.10\n"
                   "experiment_commands:\n  - echo 1\n  - {a: 1}\n")  # fmt: skip
    calls: list[Path] = []
    first = yaml_cache.cached_parse(path, counting(calls))
    second = yaml_cache.cached_parse(path, counting(calls))
    assert len(calls) == 1
    assert second == first
    assert isinstance(second, LineDict) and isinstance(second["experiment_commands"][1], LineDict)
    assert second.line_of("python_version") == 3 and second.text_of("python_version") == "3.10"
    assert second["experiment_commands"][1].line_of("a") == 6
    assert [second.line_of_item("experiment_commands", i) for i in (0, 1)] == [5, 6]


def test_a_changed_file_is_parsed_again(tmp_path: Path):
    path = settled(tmp_path / "exp.yaml", "experiment_commands: [a, b]\n")
    calls: list[Path] = []
    yaml_cache.cached_parse(path, counting(calls))
    settled(path, "experiment_commands: [a, c]\n")  # same size, another time
    assert yaml_cache.cached_parse(path, counting(calls))["experiment_commands"] == ["a", "c"]
    assert len(calls) == 2


def test_a_file_written_just_now_is_not_kept(tmp_path: Path):
    """Another write within the clock's tick could leave the same size and time."""
    path = tmp_path / "exp.yaml"
    path.write_text("experiment_commands: [a, b]\n")
    calls: list[Path] = []
    yaml_cache.cached_parse(path, counting(calls))
    yaml_cache.cached_parse(path, counting(calls))
    assert len(calls) == 2


def test_values_json_cannot_carry_are_parsed_every_time(tmp_path: Path):
    path = settled(tmp_path / "exp.yaml", "when: 2024-01-02\nexperiment_commands: [a]\n")
    calls: list[Path] = []
    for _ in range(2):
        assert str(yaml_cache.cached_parse(path, counting(calls))["when"]) == "2024-01-02"
    assert len(calls) == 2


def test_a_damaged_cache_entry_is_ignored(tmp_path: Path):
    path = settled(tmp_path / "exp.yaml", "experiment_commands: [a, b]\n")
    calls: list[Path] = []
    yaml_cache.cached_parse(path, counting(calls))
    for entry in yaml_cache.cache_folder().iterdir():
        entry.write_text('{"signature": 1')
    assert yaml_cache.cached_parse(path, counting(calls))["experiment_commands"] == ["a", "b"]
    assert len(calls) == 2


def test_item_lines_kept_as_a_run_or_one_by_one(tmp_path: Path):
    even = "".join(f"  - echo {i}\n" for i in range(50))
    uneven = "  - a\n\n  - b\n  - c\n"
    path = settled(tmp_path / "exp.yaml", f"even:\n{even}uneven:\n{uneven}")
    calls: list[Path] = []
    parsed = yaml_cache.cached_parse(path, counting(calls))
    kept = yaml_cache.cached_parse(path, counting(calls))
    assert len(calls) == 1 and kept == parsed
    for key in ("even", "uneven"):
        count = len(parsed[key])
        assert [kept.line_of_item(key, i) for i in range(-1, count + 1)] == [
            parsed.line_of_item(key, i) for i in range(-1, count + 1)
        ]
    assert [kept.line_of_item("uneven", i) for i in range(3)] == [53, 55, 56]
    assert kept.line_of_item("even", 49) == 51


def entries() -> set[str]:
    return {p.name for p in yaml_cache.cache_folder().glob("*.json")}


def aged(days: float) -> None:
    """Every cache entry last used `days` ago."""
    for entry in yaml_cache.cache_folder().glob("*.json"):
        when = entry.stat().st_mtime - days * 86400
        os.utime(entry, (when, when))


def test_entries_no_stage_read_for_long_are_removed(tmp_path: Path):
    calls: list[Path] = []
    old = settled(tmp_path / "old.yaml", "experiment_commands: [a]\n")
    used = settled(tmp_path / "used.yaml", "experiment_commands: [b]\n")
    yaml_cache.cached_parse(old, counting(calls))
    yaml_cache.cached_parse(used, counting(calls))
    aged(yaml_cache.IDLE_DAYS + 1)
    yaml_cache.cached_parse(used, counting(calls))  # a read: used again
    assert len(calls) == 2
    yaml_cache.cached_parse(
        settled(tmp_path / "new.yaml", "experiment_commands: [n]\n"), counting(calls)
    )
    assert len(entries()) == 2  # the new one and the one just read; the idle one is gone
    yaml_cache.cached_parse(used, counting(calls))
    yaml_cache.cached_parse(old, counting(calls))
    assert calls[3:] == [old]  # parsed again: its entry had been removed


def test_the_least_recently_used_go_first_past_the_size_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    calls: list[Path] = []
    files = [settled(tmp_path / f"e{i}.yaml", f"experiment_commands: [c{i}]\n") for i in range(3)]
    for path in files:
        yaml_cache.cached_parse(path, counting(calls))
        aged(1)  # e0 ends 3 days unused, e1 2 days, e2 1 day
    size = max(p.stat().st_size for p in yaml_cache.cache_folder().glob("*.json"))
    monkeypatch.setattr(yaml_cache, "MAX_CACHE_BYTES", 3 * size)
    yaml_cache.cached_parse(
        settled(tmp_path / "e3.yaml", "experiment_commands: [c3]\n"), counting(calls)
    )
    yaml_cache.cached_parse(files[2], counting(calls))
    yaml_cache.cached_parse(files[1], counting(calls))
    assert len(calls) == 4 and len(entries()) == 3  # e0 went, to stay within 3 entries' size
    yaml_cache.cached_parse(files[0], counting(calls))
    assert calls[-1] == files[0]
