"""Project files from strangers: size, depth, alias and expansion limits, safe tags only.

Every hostile file is refused with InvalidInput naming the file and the reason, quickly and
before anything is built from it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.errors import InvalidInput
from orchestrator.projectfile import (
    MAX_PROJECT_FILE_BYTES,
    MAX_YAML_ALIASES,
    MAX_YAML_DEPTH,
    parse_spec,
    read_project_file,
)


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """The classic: `levels` anchors, each a list of `width` aliases of the previous one."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    lines.append(f"project_description: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "project.yaml"
    path.write_text(text)
    return path


def test_billion_laughs_is_refused_fast(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    assert path.stat().st_size < 1024  # 9^9 = 387,420,489 strings once expanded
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match=r"project\.yaml is refused: .*alias bomb"):
        read_project_file(path)
    assert time.perf_counter() - started < 1.0


def test_a_small_expansion_under_the_limits_still_loads(tmp_path: Path) -> None:
    text = "d: &d Write a hello world script\nproject_description: *d\nsuccess_criteria: *d\n"
    data = read_project_file(write(tmp_path, text))
    assert data["project_description"] == data["success_criteria"] == data["d"]


def test_too_many_aliases_are_refused(tmp_path: Path) -> None:
    aliases = ", ".join(["*x"] * (MAX_YAML_ALIASES + 1))
    with pytest.raises(InvalidInput, match=f"more than {MAX_YAML_ALIASES} aliases"):
        read_project_file(write(tmp_path, f"x: &x 1\nmany: [{aliases}]\n"))


@pytest.mark.parametrize("depth", [MAX_YAML_DEPTH + 1, 20_000])
def test_deep_nesting_is_refused_without_a_recursion_error(tmp_path: Path, depth: int) -> None:
    text = "project_description: " + "[" * depth + "]" * depth + "\n"
    with pytest.raises(InvalidInput, match=f"deeper than {MAX_YAML_DEPTH} levels"):
        read_project_file(write(tmp_path, text))


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="contains it"):
        read_project_file(write(tmp_path, "project_description: &loop [a, *loop]\n"))


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    text = "project_description: " + "x" * MAX_PROJECT_FILE_BYTES + "\n"
    with pytest.raises(InvalidInput, match="larger than 256 KiB"):
        read_project_file(write(tmp_path, text))


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    text = "project_description: !!python/object/apply:os.system ['touch pwned']\n"
    with pytest.raises(InvalidInput, match="not valid YAML"):
        read_project_file(write(tmp_path, text))
    assert not (tmp_path / "pwned").exists()


def test_markup_in_a_description_is_kept_verbatim(tmp_path: Path) -> None:
    markup = "<img src=x onerror=window.__pwned=1> & <script>alert(1)</script>"
    spec = parse_spec(read_project_file(write(tmp_path, f"project_description: '{markup}'\n")))
    assert spec.project_description == markup
