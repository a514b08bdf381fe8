"""Failure signatures: ``<node_id>|<class>|<normalised reason>``.

Normalisation removes what changes between two occurrences of the same
failure (numbers, hex ids, UUIDs, timestamps, paths) so that a repeated
failure is recognised as the same one.
"""

from __future__ import annotations

import re

MAX_REASON_CHARS = 200

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[t ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?"),
     "<ts>"),
    (re.compile(r"(?:[a-z]:)?(?:~|\.{1,2})?(?:/[\w.@+-]+){2,}/?"), "<path>"),
    (re.compile(r"\b0x[0-9a-f]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,}\b"), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalize_reason(reason: str) -> str:
    text = reason.strip().lower()
    for pattern, placeholder in _RULES:
        text = pattern.sub(placeholder, text)
    return text.strip()[:MAX_REASON_CHARS]


def failure_signature(node_id: str, failure_class: str, reason: str, hint: str = "") -> str:
    detail = hint.strip() if hint.strip() else normalize_reason(reason)
    return f"{node_id}|{failure_class or 'deterministic'}|{detail}"
