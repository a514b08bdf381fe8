"""The coding-agent loop's core tools (coding-agent-loop-spec §3.3), each in its own module.

Every tool is confined to the stage's workdir (:mod:`.workspace`), and its
output is truncated for the model by :mod:`.truncation`.
"""

from __future__ import annotations

from .base import Tool, ToolEnv, ToolFailure
from .edit_file import EDIT_FILE
from .glob import GLOB
from .grep import GREP
from .read_file import READ_FILE
from .shell import SHELL
from .write_file import WRITE_FILE

CORE_TOOLS: tuple[Tool, ...] = (READ_FILE, WRITE_FILE, EDIT_FILE, SHELL, GREP, GLOB)

__all__ = ["CORE_TOOLS", "Tool", "ToolEnv", "ToolFailure"]
