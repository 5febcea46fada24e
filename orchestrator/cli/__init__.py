"""The `orchestrator` command."""

from orchestrator.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
