"""The fake LLM provider on 127.0.0.1, for documented commands that call a model."""

from tests.backends.conftest import fake

__all__ = ["fake"]
