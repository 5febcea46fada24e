"""Multi-LLM Orchestrator: plan a project into tasks and run each through several LLMs."""

__version__ = "0.1.0"
