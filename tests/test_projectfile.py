from pathlib import Path

import pytest

from orchestrator.domain import TaskType
from orchestrator.errors import InvalidInput
from orchestrator.plan import Plan, PlannedTask
from orchestrator.projectfile import parse_spec, read_project_file

EXAMPLE = Path(__file__).parents[1] / "examples" / "hello-world.yaml"


def test_example_project_file_is_a_valid_spec() -> None:
    spec = parse_spec(read_project_file(EXAMPLE))
    assert spec.budget_usd == 0.5
    assert "hello world" in spec.project_description.lower()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"project_description": ""}, "project_description"),
        ({"project_description": "x", "budget_usd": 0}, "budget_usd"),
        ({"project_description": "x", "concurrency": 11}, "concurrency"),
        ({"project_description": "x", "time_limit_s": -1}, "time_limit_s"),
        ({"project_description": "x" * 20_001}, "project_description"),
        ({"project_description": "x", "budjet_usd": 1}, "budjet_usd: is not a known field"),
        # Stored as money (10 decimals) it read back as 0, and the job answered 500 ever after.
        ({"project_description": "x", "max_forecast_usd": 1e-12}, "max_forecast_usd"),
        ({"project_description": "x\x00"}, "project_description"),
    ],
)
def test_invalid_specs_name_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_spec(fields)


def test_malformed_yaml_reports_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("project_description: ok\nbudget_usd: [1, 2\nconcurrency: 3\n")
    with pytest.raises(InvalidInput, match=r"line \d+"):
        read_project_file(bad)


def test_missing_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        read_project_file(tmp_path / "nope.yaml")
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(InvalidInput, match="mapping"):
        read_project_file(listy)


def task(tid: str, deps: list[str]) -> PlannedTask:
    return PlannedTask(id=tid, type=TaskType.SUMMARIZATION, prompt="p", dependencies=deps)


def test_plan_rejects_cycles_unknown_and_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="cycle"):
        Plan(tasks=[task("a", ["b"]), task("b", ["a"])])
    with pytest.raises(ValueError, match="unknown"):
        Plan(tasks=[task("a", ["zz"])])
    with pytest.raises(ValueError, match="duplicate"):
        Plan(tasks=[task("a", []), task("a", [])])
    assert len(Plan(tasks=[task("a", []), task("b", ["a"])]).tasks) == 2
