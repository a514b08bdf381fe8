"""Codergen backends: ``api`` (one-shot or the coding-agent loop over the unified LLM client)
and ``cli`` (the claude, codex and gemini CLIs as supervised subprocesses)."""
