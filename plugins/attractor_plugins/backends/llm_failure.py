"""An LLM error as a stage outcome: a ``fail`` whose ``details`` the taxonomy classifier reads.

``details["llm_error"]`` holds ``type`` (the error class name), ``status``
(HTTP status or None), ``provider``, ``retryable`` and ``message``.
"""

from __future__ import annotations

from typing import Any

from attractor_core.model import Node, Outcome
from attractor_plugins.llm.errors import SDKError


def llm_error_details(error: SDKError) -> dict[str, Any]:
    status = getattr(error, "status_code", None)
    return {"type": type(error).__name__, "status": status if isinstance(status, int) else None,
            "provider": error.provider_name, "retryable": error.retryable,
            "message": error.message}


def llm_failure(node: Node, error: SDKError) -> Outcome:
    """No class is set here: the error-classifier hook derives it from ``details``."""
    return Outcome.fail(f"node {node.id}: LLM call failed: {type(error).__name__}: {error}",
                        details={"llm_error": llm_error_details(error)})
