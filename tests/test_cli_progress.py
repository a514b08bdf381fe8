"""What ``attractor run`` shows: a live line on a terminal, plain lines otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

DOT = """digraph P {
  start [shape=Mdiamond]
  exit [shape=Msquare]
  slow [shape=parallelogram, tool_command="sleep 1.2"]
  start -> slow -> exit
}
"""


def test_terminal_gets_a_live_line_with_elapsed_time(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(DOT)
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "attractor_core", "run", str(dot),
                             "--logs-root", str(tmp_path / "logs")],
                            stdout=slave, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the pty closes when the child exits
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=30) == 0
    screen = b"".join(chunks).decode()
    assert "\x1b[2K▶ slow (attempt 1)" in screen
    assert "s\r" in screen or "s\x1b" in screen  # the elapsed clock was redrawn in place
    assert "✓ slow success" in screen


def test_pipe_gets_plain_lines(tmp_path: Path) -> None:
    dot = tmp_path / "p.dot"
    dot.write_text(DOT)
    result = subprocess.run([sys.executable, "-m", "attractor_core", "run", str(dot),
                             "--logs-root", str(tmp_path / "logs")],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0
    assert "\x1b" not in result.stdout
    lines = result.stdout.splitlines()
    assert "▶ slow (attempt 1)" in lines
    assert any(line.startswith("✓ slow success") for line in lines)
    assert lines[-2].startswith("run ") and lines[-1].startswith("logs: ")
