"""The orchestrator driven from other tools: an MCP server (`mcp`) over the HTTP client."""
