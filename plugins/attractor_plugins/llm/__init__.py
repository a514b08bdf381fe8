"""The unified LLM client: one adapter per native protocol (docs/llm.md).

Public surface: ``Client`` (client.py), the value classes (types.py), the
error tree (errors.py), ``AbortController`` (abort.py), ``RetryPolicy``
(retry.py), ``Middleware`` (middleware.py), ``LlmConfig`` (config.py), the
taxonomy (taxonomy.py) and the failover policies (failover.py).
"""
