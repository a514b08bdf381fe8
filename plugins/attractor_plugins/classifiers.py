"""Built-in failure-class heuristics: the last link of the classifier chain.

Phrases are matched at word boundaries, and HTTP status codes only next to
a word that makes them a status ("HTTP 503", "status 502", "503 Service
Unavailable"), so "assertion failed at line 503" stays deterministic.
"""

from __future__ import annotations

import re

_TRANSIENT = re.compile(
    r"""\b(?:
        (?:http|status(?:\ code)?|error|response)\W{0,3}(?:408|429|500|502|503|504)
      | (?:408|429|500|502|503|504)\ (?:request\ timeout|too\ many\ requests|internal\ server
            \ error|bad\ gateway|service\ unavailable|gateway\ time-?out)
      | connection\ (?:reset|refused|aborted|closed)(?:\ by\ peer)?
      | econnreset | econnrefused | etimedout | ehostunreach | epipe
      | broken\ pipe | network\ is\ unreachable | temporary\ failure\ in\ name\ resolution
      | timed\ out | timeout\ (?:expired|exceeded) | deadline\ exceeded
      | rate[\ -]limit(?:ed)? | too\ many\ requests | overloaded
      | service\ unavailable | bad\ gateway | gateway\ time-?out
      | stream\ (?:disconnected|interrupted|closed\ unexpectedly)
      | try\ again\ later | temporarily\ unavailable
    )\b""",
    re.IGNORECASE | re.VERBOSE,
)
_BUDGET = re.compile(
    r"\b(?:context\ (?:length|window)\ exceeded|token\ budget\ exhausted|quota\ exceeded"
    r"|max(?:imum)?\ tokens\ reached|budget\ exhausted)\b", re.IGNORECASE | re.VERBOSE)
_COMPILATION = re.compile(
    r"\b(?:compilation\ loop|same\ compile\ error\ repeated|build\ keeps\ failing)\b",
    re.IGNORECASE | re.VERBOSE)
_CANCELED = re.compile(r"^(?:canceled|cancelled)\b|\bstopped by signal\b", re.IGNORECASE)


def classify_reason(reason: str) -> str | None:
    """The class a failure reason suggests, or None when nothing is recognised."""
    if _CANCELED.search(reason):
        return "canceled"
    if _BUDGET.search(reason):
        return "budget_exhausted"
    if _COMPILATION.search(reason):
        return "compilation_loop"
    if _TRANSIENT.search(reason):
        return "transient_infra"
    return None
