"""Codergen backends shipped with the handlers: ``simulate`` (real LLMs come from plugins)."""
