"""A retired or retiring model shows its date and replacement: `GET /api/models` and
`orchestrator models`. The dates are stable whatever day the tests run: gemini-2.5-pro retired
on 2026-12-01 (pydantic-ai's data), and the retiring model is dated 9999-12-31 by its entry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from conftest import StartRuntime
from typer.testing import CliRunner

from orchestrator.api.routes.models import list_models
from orchestrator.cli import app
from orchestrator.config import DEFAULT_CATALOG

RETIRED = {"gemini-2.5-pro": {"provider": "google", "quality": 0.94}}
RETIRING = {
    "deepseek-chat": {
        "provider": "deepseek",
        "quality": 0.86,
        "deprecation": {"retirement_date": "9999-12-31", "replacement": "deepseek-v4-pro"},
    }
}


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    """The default catalog plus the retired gemini-2.5-pro, and deepseek-chat dated to retire."""
    raw = yaml.safe_load(DEFAULT_CATALOG.read_text(encoding="utf-8"))
    raw["models"].update(RETIRED | RETIRING)
    raw["roles"]["decompose"].insert(0, "gemini-2.5-pro")
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


async def test_the_api_shows_a_retired_and_a_retiring_model(
    start_runtime: StartRuntime, catalog_path: Path
) -> None:
    runtime = await start_runtime(catalog_path=catalog_path)
    models = {m.model: m for m in await list_models(runtime)}
    retired = models["gemini-2.5-pro"]
    assert (retired.lifecycle, retired.retirement_date) == ("retired", date(2026, 12, 1))
    assert retired.replacement == retired.rerouted_to == "gemini-3.8-flash"
    assert retired.retirement_notice and retired.retirement_notice.startswith("https://")
    retiring = models["deepseek-chat"]
    assert (retiring.lifecycle, retiring.retirement_date, retiring.replacement) == (
        "retiring", date(9999, 12, 31), "deepseek-v4-pro",
    )  # fmt: skip
    assert models["gemini-3.8-flash"].lifecycle == "current"
    assert models["gemini-3.8-flash"].retirement_date is None


def test_the_cli_shows_a_retired_and_a_retiring_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCH_CATALOG_PATH", str(catalog_path))
    listed = CliRunner().invoke(app, ["models", "--all"])
    assert listed.exit_code == 0, listed.output
    # One line per retired or retiring model, whatever the terminal's width.
    assert (
        "gemini-2.5-pro: its provider retired it on 2026-12-01; it recommends gemini-3.8-flash; "
        "routing calls gemini-3.8-flash in its place"
    ) in listed.output
    assert (
        "deepseek-chat: its provider retires it on 9999-12-31; it recommends deepseek-v4-pro"
    ) in listed.output
    assert "gemini-3.8-flash: its provider" not in listed.output  # current: no line
    # And in the table, beside the statistics.
    rows = {line.split()[1]: line for line in listed.output.splitlines() if "│ gemini-" in line}
    assert "retired" in rows["gemini-2.5-pro"] and "current" in rows["gemini-3.8-flash"]
