"""Reading the fenced blocks of a user document and running its shell blocks as written.

Fence info strings the tests understand:

``sh``             commands, run with ``bash -e`` in the scenario's directory;
``sh network``     commands that need the network (pip, nox): checked, not run;
``sh fake-provider`` commands that need an LLM provider: run with the provider's base URL
                   pointed at the tests' fake provider on 127.0.0.1 (``...`` keys get a
                   test value);
``text``           what the preceding command prints, compared exactly;
``dot``, ``toml``  files the prose tells the reader to write;
``synopsis``       the command's usage, checked against ``--help``.

A :class:`Script` hands the blocks out in document order: a scenario asks for the
next block by its kind and the test fails if the text differs from what it expects
or if any block is left over, so no documented command goes untested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import attrs
import trio

REPO = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
RUNNABLE = ("sh", "sh fake-provider")


@attrs.frozen
class Block:
    info: str
    body: str
    line: int

    @property
    def commands(self) -> list[str]:
        """The non-blank, non-comment lines, without their trailing ``# comment``."""
        lines = (re.sub(r"\s+#\s.*$", "", raw).strip() for raw in self.body.splitlines())
        return [line for line in lines if line and not line.startswith("#")]


def blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    return [Block(m.group(1).strip(), m.group(2), text.count("\n", 0, m.start()) + 1)
            for m in _FENCE.finditer(text)]


class Script:
    """The blocks of one document, consumed in order by a scenario."""

    def __init__(self, path: Path):
        self.path = path
        self._blocks = blocks(path)
        self._next = 0

    def take(self, info: str, first_command: str | None = None) -> Block:
        """The next block; it must have fence info ``info`` (and start with ``first_command``)."""
        assert self._next < len(self._blocks), f"{self.path.name}: no block left, wanted {info}"
        block = self._blocks[self._next]
        self._next += 1
        where = f"{self.path.name}:{block.line}"
        assert block.info == info, f"{where}: fence is {block.info!r}, the test expects {info!r}"
        if first_command is not None:
            assert block.commands and block.commands[0] == first_command, (
                f"{where}: block starts {block.commands[:1]}, the test expects {first_command!r}")
        return block

    def done(self) -> None:
        left = self._blocks[self._next:]
        assert not left, (f"{self.path.name}: blocks the test does not cover: "
                          + ", ".join(f"line {b.line} ({b.info or 'no info'})" for b in left))


def shell_env(**extra: str) -> dict[str, str]:
    """This interpreter's bin directory first on PATH (so ``attractor`` is this checkout's),
    and no provider key of the developer's own."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


async def run_block(block: Block, cwd: Path, env: dict[str, str],
                    timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the block as one ``bash -e`` script, as a reader pasting it would."""
    with trio.fail_after(timeout):
        done = await trio.run_process(["bash", "-e", "-c", block.body], cwd=cwd, env=env,
                                      capture_stdout=True, capture_stderr=True, check=False)
    return subprocess.CompletedProcess(done.args, done.returncode,
                                       done.stdout.decode(), done.stderr.decode())
