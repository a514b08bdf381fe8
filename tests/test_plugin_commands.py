"""``attractor --help`` lists every command, the ones plugins add included, without loading
the plugins: the commands a distribution declares (``attractor.commands``) are exactly those
its ``attractor_cli_commands`` hook adds, with the same one-line help."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

from attractor_core.plugins import make_plugin_manager


def hook_commands() -> dict[str, str]:
    """Name -> one-line help of every command the installed plugins add through the hook."""
    parser = argparse.ArgumentParser(prog="attractor")
    sub = parser.add_subparsers(dest="command")
    make_plugin_manager().hook.attractor_cli_commands(subparsers=sub)
    return {action.dest: action.help or "" for action in sub._choices_actions}


def help_listing() -> dict[str, str]:
    """Name -> one-line help of every command ``attractor --help`` lists."""
    env = {**os.environ, "COLUMNS": "300"}  # one line per command
    done = subprocess.run([sys.executable, "-m", "attractor_core", "--help"], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    names = re.search(r"\{([a-z,-]+)\}", done.stdout)
    assert names, done.stdout
    listed = {}
    for name in names.group(1).split(","):
        line = re.search(rf"^    {re.escape(name)} +(.*)$", done.stdout, re.MULTILINE)
        listed[name] = line.group(1) if line else ""
    return listed


def test_help_lists_exactly_the_commands_the_plugins_add():
    added = hook_commands()
    assert {"serve", "render", "models", "gc"} <= set(added)  # the hook really added some
    listed = help_listing()
    builtin = ["validate", "run", "resume", "status", "stop", "runs"]
    assert list(listed)[:len(builtin)] == builtin
    assert {name: listed[name] for name in list(listed)[len(builtin):]} == added


def test_a_listed_plugin_command_runs_through_the_hook():
    done = subprocess.run([sys.executable, "-m", "attractor_core", "models", "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.lstrip().startswith("[")
