"""An LLM error as a stage outcome, in the form the LLM taxonomy classifier reads.

The outcome is a ``fail`` without a class, with ``details["llm_error"]``
(``attractor_plugins.llm.taxonomy.error_record``) and the taxonomy's
signature, so the ``attractor_classify_failure`` hook decides the class and
repeated identical API failures are recognised by the cycle breaker.
"""

from __future__ import annotations

from attractor_core.sdk import Node, Outcome
from attractor_plugins.llm.errors import SDKError
from attractor_plugins.llm.taxonomy import classify_error, error_record


def llm_failure(node: Node, error: SDKError, provider: str = "") -> Outcome:
    return Outcome.fail(f"node {node.id}: LLM call failed: {type(error).__name__}: {error}",
                        failure_signature=classify_error(error, provider).signature,
                        details={"llm_error": error_record(error, provider)})
