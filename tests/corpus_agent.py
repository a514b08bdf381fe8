"""The scripted agent and fake toolchain that corpus pipelines run under.

``fixtures/corpus_run/fake_agent`` stands in for the claude, codex and gemini CLIs
(the ``cli`` backend finds it through ``ATTRACTOR_{CLAUDE,CODEX,GEMINI}_PATH``): it writes
the files and the status file a prompt asks for, and takes its outcomes from a plan written
by :func:`write_plan`. ``fixtures/corpus_run/bin`` holds tiny fakes of the tools the corpus'
tool commands call; ``fixtures/corpus_run/workdir`` the project scripts they run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

FIXTURE = Path(__file__).parent / "fixtures" / "corpus_run"
AGENT = FIXTURE / "fake_agent"
TOOLS = FIXTURE / "bin"
WORKDIR = FIXTURE / "workdir"


def agent_environment(home: Path, plan: Path, state: Path, *, tools: Path = TOOLS,
                      agent: Path = AGENT) -> dict[str, str]:
    """The environment of a run under the fake agent, with ``tools`` first on ``PATH``."""
    env = {k: v for k, v in os.environ.items() if k != "USERPROFILE"}
    env.update({
        "PATH": f"{tools}{os.pathsep}{env.get('PATH', '')}",
        # Tool commands put $HOME/.cargo/bin first: an empty home keeps the fakes in front.
        "HOME": str(home),
        "ATTRACTOR_CLAUDE_PATH": str(agent), "ATTRACTOR_CODEX_PATH": str(agent),
        "ATTRACTOR_GEMINI_PATH": str(agent),
        "CORPUS_AGENT_PLAN": str(plan), "CORPUS_AGENT_STATE": str(state),
    })
    return env


def write_plan(plan: Mapping[str, Sequence[Any]], into: Path) -> None:
    """The agent's plan as files a shell script can read: ``<node>/<n>.json`` is the status
    body of the node's n-th call, ``<node>/<n>.files/`` the files that call writes."""
    for node, steps in plan.items():
        (into / node).mkdir(parents=True)
        for number, step in enumerate(steps, start=1):
            body: dict[str, Any] = {"outcome": step} if isinstance(step, str) else dict(step)
            for relative, content in body.pop("files", {}).items():
                path = into / node / f"{number}.files" / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(content, encoding="utf-8")
                path.chmod(0o755 if content.startswith("#!") else 0o644)
            (into / node / f"{number}.json").write_text(json.dumps(body), encoding="utf-8")
