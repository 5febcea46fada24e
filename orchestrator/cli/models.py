"""`orchestrator models [--check] [--all] [--discover [--write]]`: which models are configured,
what they cost, how they have done (statistics from the recorded calls), with `--check` whether
each provider answers right now (and in which structured-output mode), and with `--discover`
the models a local OpenAI-compatible server offers (discover.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import yaml
from rich.markup import escape
from rich.table import Table

from orchestrator.cli.app import Exit, _run_async, _settings, app, err, out
from orchestrator.cli.discover import discover, write_catalog
from orchestrator.config import Catalog, Settings
from orchestrator.engine.health import HealthBook
from orchestrator.errors import CatalogError, InvalidInput
from orchestrator.providers import (
    ClientSet,
    Pricing,
    ProbeResult,
    PydanticAIClient,
    build_clients,
    probe,
)
from orchestrator.providers.retirement import Retirement, Retirements
from orchestrator.store import Store

__all__ = ["models"]

CHECK_TIMEOUT_S = 60.0  # per provider; a check should not hang on one slow endpoint
ALL_SETTINGS = (
    "ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY), DEEPSEEK_API_KEY, "
    "MOONSHOT_API_KEY, OPENROUTER_API_KEY or ORCH_OPENAI_COMPAT_BASE_URL"
)


@app.command()
def models(
    check: Annotated[
        bool, typer.Option("--check", help="Make one tiny real call per configured provider.")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also list catalog models of unconfigured providers.")
    ] = False,
    find: Annotated[
        bool,
        typer.Option(
            "--discover",
            help="List the models the ORCH_OPENAI_COMPAT_BASE_URL server offers, as catalog "
            "entries.",
        ),
    ] = False,
    write: Annotated[
        bool,
        typer.Option(
            "--write",
            help="With --discover: add them to the catalog at ORCH_CATALOG_PATH, routed to "
            "every task type and role.",
        ),
    ] = False,
) -> None:
    """List configured models with prices, health and statistics from recorded calls."""
    settings = _settings()
    if write and not find:
        err.print("[red]error:[/] --write goes with --discover", highlight=False)
        raise typer.Exit(Exit.BAD_INPUT)
    if find:
        _discover(settings, write=write)
        return
    catalog = settings.catalog
    clients = build_clients(settings, catalog)
    pricing = Pricing(catalog)
    out.print(_providers_line(clients), highlight=False)

    async def go() -> list[ProbeResult] | None:
        health = await _health(settings, simulated=clients.simulated)
        retirements = Retirements(catalog)  # as of today (UTC)
        out.print(models_table(catalog, clients, pricing, health, retirements, show_all=show_all))
        for line in retirement_notes(catalog, retirements):
            out.print(line, highlight=False, soft_wrap=True)  # one line each, for grep too
        if not check:
            return None
        timeout = min(settings.call_timeout_s, CHECK_TIMEOUT_S)
        return await probe(clients.clients, catalog, pricing, timeout_s=timeout)

    results = _run_async(go)
    if results is None:
        return
    if not results:
        err.print(f"nothing to check: no provider is configured (set {ALL_SETTINGS})")
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL)
    out.print(check_table(results))
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"{len(failed)} of {len(results)} provider(s) failed the check")
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL)
    out.print(f"all {len(results)} provider(s) answered")


def _discover(settings: Settings, *, write: bool) -> None:
    entries = _run_async(lambda: discover(settings))
    if not entries:
        err.print(f"{settings.openai_compat_base_url} lists no models")
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL)
    out.print(escape(yaml.safe_dump({"models": entries}, sort_keys=False)), highlight=False)
    if not write:
        out.print(
            f"{len(entries)} model(s); add them with --write (to ORCH_CATALOG_PATH)",
            highlight=False,
        )
        return
    try:
        added = write_catalog(settings, entries)
    except InvalidInput as e:
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False)
        raise typer.Exit(Exit.BAD_INPUT) from None
    except CatalogError as e:
        err.print(f"[red]error:[/] {escape(str(e))}", highlight=False)
        raise typer.Exit(Exit.JOB_NOT_SUCCESSFUL) from None
    named = ", ".join(added) if added else "none (all were there)"
    out.print(
        f"added to {settings.catalog_path}: {named}; every task type and role may use them",
        highlight=False,
    )


def _providers_line(clients: ClientSet) -> str:
    vendors = [c.vendor for c in clients.clients if isinstance(c, PydanticAIClient)]
    if not vendors:
        return (
            "[bold yellow]simulated[/]: no provider is configured, so the offline simulator "
            f"answers every model. Set {ALL_SETTINGS} to use real ones."
        )
    listed = ", ".join(f"{v.name} ({v.configured_by})" for v in vendors)
    return f"providers: {listed}; {len(clients.available_models())} model(s) available"


async def _health(settings: Settings, *, simulated: bool) -> HealthBook:
    """Telemetry rebuilt from the recorded calls of this mode (real or simulated) only:
    simulated faults say nothing about a real model, and the other way round."""
    await asyncio.to_thread(settings.data_dir.mkdir, parents=True, exist_ok=True)
    store = await Store.open(settings.store_url)
    try:
        calls = await store.list_calls()
    finally:
        await store.close()
    health = HealthBook(cooldown_s=settings.breaker_cooldown_s)
    health.seed_from(c for c in calls if c.simulated == simulated)
    return health


def models_table(
    catalog: Catalog,
    clients: ClientSet,
    pricing: Pricing,
    health: HealthBook,
    retirements: Retirements,
    *,
    show_all: bool,
) -> Table:
    table = Table(title="models", expand=False)
    for column in ("model", "provider", "status"):
        table.add_column(column, no_wrap=True)
    # A retired model's date and replacement; the lines below the table say them in full.
    table.add_column("lifecycle", min_width=8)
    for column in ("$/Mtok in/out", "calls (failed)", "success", "trust", "ms avg/p95"):
        table.add_column(column, justify="right")
    table.add_column("avg cost", justify="right")
    available = set(clients.available_models())
    for name, info in sorted(catalog.models.items(), key=lambda kv: (kv[1].provider, kv[0])):
        if name not in available and not show_all:
            continue
        price = pricing.per_mtok(name)
        stats = health.snapshot(name)
        seen = stats.call_count > 0
        table.add_row(
            name,
            info.provider,
            _status(name, available, clients),
            _lifecycle(retirements.of(name)),
            f"{price.input_per_mtok:g}/{price.output_per_mtok:g}",
            f"{stats.call_count} ({stats.failure_count})",
            f"{stats.success_rate:.0%}" if seen else "-",
            f"{stats.trust_factor:.3f}",
            f"{stats.avg_latency_ms:.0f}/{stats.latency_p95_ms:.0f}" if seen else "-",
            f"${stats.avg_cost_usd:.5f}" if seen else "-",
        )
    return table


def _status(model: str, available: set[str], clients: ClientSet) -> str:
    if model not in available:
        return "[dim]not configured[/]"
    if clients.for_model(model).simulated:
        return "[yellow]simulated[/]"
    return "[green]ready[/]"


def _lifecycle(r: Retirement) -> str:
    """ "current", or "retired 2026-12-01 → gemini-3.8-flash" (a date and replacement if known)."""
    if r.lifecycle == "current":
        return "[dim]current[/]"
    color = "red" if r.lifecycle == "retired" else "yellow"
    date = f" {r.retirement_date.isoformat()}" if r.retirement_date else ""
    instead = f" → {escape(r.replacement)}" if r.replacement else ""
    return f"[{color}]{r.lifecycle}[/]{date}{instead}"


def retirement_notes(catalog: Catalog, retirements: Retirements) -> list[str]:
    """One line per retired or retiring catalog model: its date, replacement, what routing does."""
    notes: list[str] = []
    for name, info in catalog.models.items():
        r = retirements.of(name)
        if r.lifecycle == "current":
            continue
        when = f" on {r.retirement_date.isoformat()}" if r.retirement_date else ""
        verb = "retired" if r.lifecycle == "retired" else "retires" if when else "deprecated"
        line = f"{escape(name)}: its provider {verb} it{when}"
        if r.replacement:
            line += f"; it recommends {escape(r.replacement)}"
        if r.lifecycle == "retired":
            stand_in = retirements.in_service(info)
            line += (
                f"; routing calls {escape(stand_in.name)} in its place"
                if stand_in is not None
                else "; routing skips it"
            )
        notes.append(line)
    return notes


def check_table(results: list[ProbeResult]) -> Table:
    table = Table(title="provider check", expand=False)
    for column in ("provider", "model", "result", "structured output"):
        table.add_column(column, no_wrap=True)
    for column in ("ms", "tokens in/out", "cost"):
        table.add_column(column, justify="right")
    table.add_column("detail")
    for r in results:
        result = "[green]ok[/]" if r.ok else f"[red]{r.error_type or 'failed'}[/]"
        table.add_row(
            r.provider,
            r.model,
            result,
            escape(r.output_mode or "-"),
            f"{r.latency_ms:.0f}",
            f"{r.input_tokens}/{r.output_tokens}" if r.ok else "-",
            f"${r.cost_usd:.6f}" if r.ok else "-",
            # What failed says why; what worked shows the start of its answer.
            escape(r.detail if not r.ok else r.detail[:40]),  # [brackets] are not markup
        )
    return table
