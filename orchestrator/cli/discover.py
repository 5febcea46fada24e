"""`orchestrator models --discover [--write]`: catalog entries for the models a local
OpenAI-compatible server offers (`GET /v1/models`), printed as YAML, or added to the user's
catalog at ORCH_CATALOG_PATH with every task type and role routed to them.

Entries are free (price 0), of modest quality (so a paid model configured beside them still
ranks first) and carry the context window when the server tells it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from orchestrator.config import DEFAULT_CATALOG, Catalog, Settings
from orchestrator.errors import CatalogError, InvalidInput
from orchestrator.providers.local_server import ServedModel, served_models
from orchestrator.providers.openai_compat import PROVIDER

__all__ = ["add_to_catalog", "discover", "entries_for", "write_catalog"]

DISCOVERED_QUALITY = 0.6
DISCOVERED_MAX_OUTPUT = 2048


def entries_for(models: list[ServedModel]) -> dict[str, dict[str, Any]]:
    """Catalog entries (name → fields) for served models."""
    entries: dict[str, dict[str, Any]] = {}
    for model in models:
        entry: dict[str, Any] = {"provider": PROVIDER, "quality": DISCOVERED_QUALITY}
        cap = DISCOVERED_MAX_OUTPUT
        if model.context_tokens:
            entry["context_tokens"] = model.context_tokens
            cap = max(min(cap, model.context_tokens // 2), 16)
        entry["max_output_tokens"] = cap
        entry["price"] = {"input_per_mtok": 0, "output_per_mtok": 0}
        entries[model.id] = entry
    return entries


def add_to_catalog(raw: dict[str, Any], entries: dict[str, dict[str, Any]]) -> list[str]:
    """Add `entries` to a catalog's raw YAML data, routed to every task type and role; the
    names added (a model already in the catalog is left as it is)."""
    models = raw.setdefault("models", {})
    added = [name for name in entries if name not in models]
    for name in added:
        models[name] = entries[name]
    for policy in (raw.get("task_types") or {}).values():
        policy["models"] = list(dict.fromkeys([*policy.get("models", []), *added]))
    roles = raw.setdefault("roles", {})
    for role, names in roles.items():
        roles[role] = list(dict.fromkeys([*(names or []), *added]))
    return added


async def discover(settings: Settings) -> dict[str, dict[str, Any]]:
    base_url = (settings.openai_compat_base_url or "").strip()
    if not base_url:
        raise InvalidInput(
            "set ORCH_OPENAI_COMPAT_BASE_URL to the server's OpenAI-compatible URL "
            "(e.g. http://127.0.0.1:11434/v1 for Ollama) to discover its models"
        )
    key = settings.openai_compat_api_key
    api_key = key.get_secret_value() if key is not None else None
    return entries_for(await served_models(base_url, api_key=api_key))


def write_catalog(settings: Settings, entries: dict[str, dict[str, Any]]) -> list[str]:
    """Add `entries` to the user catalog at ORCH_CATALOG_PATH (made from the default one when
    the file does not exist yet); the names added."""
    path = settings.catalog_path
    if path.resolve() == DEFAULT_CATALOG.resolve():
        raise InvalidInput(
            "set ORCH_CATALOG_PATH to a catalog file of your own (it is created from the "
            "default catalog when missing); the packaged catalog is not written"
        )
    source = path if path.exists() else DEFAULT_CATALOG
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise CatalogError(f"model catalog {source} is not a mapping")
    updated = copy.deepcopy(raw)
    added = add_to_catalog(updated, entries)
    try:
        Catalog.model_validate(updated)
    except ValidationError as e:
        raise CatalogError(f"the catalog would be invalid: {e}") from e
    _write_yaml(path, updated)
    return added


def _write_yaml(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)  # a reader never sees half a catalog
