"""The three agent CLIs: argv, model-id normalisation, where the executable is found.

All three get the prompt on stdin (no 128 KiB argument limit, no prompt in
``ps``) and explicit permission flags:

* claude: ``-p --dangerously-skip-permissions --output-format stream-json --verbose [--model M]``
  (``--verbose`` is required with stream-json);
* codex: ``exec --json --sandbox workspace-write --skip-git-repo-check [-m M] -C WORKDIR``;
* gemini: ``--output-format stream-json --yolo [--model M]`` (non-interactive on piped stdin).

The executable is ``ATTRACTOR_CLAUDE_PATH`` / ``ATTRACTOR_CODEX_PATH`` /
``ATTRACTOR_GEMINI_PATH`` when set (tests point these at fake CLIs), else
the plain name looked up on ``PATH``.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import Path

from attrs import frozen


@frozen
class CliAgent:
    name: str
    provider: str
    path_env: str

    def argv(self, executable: str, model: str, workdir: Path) -> list[str]:
        if self.name == "claude":
            return [executable, "-p", "--dangerously-skip-permissions", "--output-format",
                    "stream-json", "--verbose", *(["--model", model] if model else [])]
        if self.name == "codex":
            return [executable, "exec", "--json", "--sandbox", "workspace-write",
                    "--skip-git-repo-check", *(["-m", model] if model else []),
                    "-C", str(workdir)]
        return [executable, "--output-format", "stream-json", "--yolo",
                *(["--model", model] if model else [])]

    def executable(self, env: Mapping[str, str]) -> str | None:
        """The executable's path, or None when it cannot be found."""
        override = env.get(self.path_env, "")
        return shutil.which(override or self.name, path=env.get("PATH"))

    def normalize_model(self, model: str) -> str:
        """Drop a ``provider/`` prefix; claude ids use dashes between version digits."""
        model = model.split("/", 1)[1] if "/" in model else model
        return re.sub(r"(?<=\d)\.(?=\d)", "-", model) if self.name == "claude" else model


AGENTS: Mapping[str, CliAgent] = {
    "claude": CliAgent("claude", "anthropic", "ATTRACTOR_CLAUDE_PATH"),
    "codex": CliAgent("codex", "openai", "ATTRACTOR_CODEX_PATH"),
    "gemini": CliAgent("gemini", "gemini", "ATTRACTOR_GEMINI_PATH"),
}
PROVIDER_AGENTS: Mapping[str, str] = {"anthropic": "claude", "openai": "codex",
                                      "gemini": "gemini", "google": "gemini"}
