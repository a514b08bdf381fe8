"""The one-line help of the commands this distribution adds to ``attractor``.

``attractor --help`` lists plugin commands without loading any plugin: it reads
the ``attractor.commands`` entry points (command name = the constant's value
here) from the installed metadata and imports only this module. The parsers the
plugins add through ``attractor_cli_commands`` use the same constants, and a
test checks that the two lists of commands agree.
"""

from __future__ import annotations

GC = "remove the git worktrees of finished runs"
MODELS = "list the model catalog: context, capabilities, prices"
RENDER = "draw a pipeline as SVG or PNG"
SERVE = "serve the HTTP API and web UI of a runs root"
