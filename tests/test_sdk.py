"""``attractor_core.sdk``: the plugin authors' module exports what it promises, cheaply."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import attractor_core.sdk as sdk

# The surface the SDK promises plugin authors (docs/plugins.md).
PROMISED = {
    "hookimpl", "DeferredHandler",
    "Handler", "StageRun", "StatusSource", "EventSink", "LintRule", "Transform",
    "CodergenBackend", "Interviewer",
    "Graph", "Node", "Edge", "Outcome", "StageStatus", "FailureClass", "Context", "Duration",
    "Event", "Warning",
    "write_bytes_atomic", "write_text_atomic", "write_json_atomic",
    "run_in_group", "kill_grace_seconds", "stage_environment",
    "Question", "QuestionType", "Option", "Answer", "AnswerValue",
    "Diagnostic", "Severity",
    "AttractorError", "InputError", "UsageError", "ParseError", "ValidationError",
    "ValueFormatError", "RunError",
}


def test_the_sdk_exports_the_promised_names_and_all_of_them_resolve():
    assert set(sdk.__all__) >= PROMISED
    assert len(sdk.__all__) == len(set(sdk.__all__))
    for name in sdk.__all__:
        assert getattr(sdk, name) is not None, name
    assert sdk.Outcome is importlib.import_module("attractor_core.model").Outcome


def test_the_sdk_has_nothing_beyond_its_all():
    assert dir(sdk) == sorted(sdk.__all__)
    with pytest.raises(AttributeError, match=r"attractor_core\.sdk"):
        sdk.engine_internals  # noqa: B018


def test_the_hookimpl_marker_is_the_kernels():
    from attractor_core.plugins import hookimpl

    assert sdk.hookimpl is hookimpl


def test_importing_the_sdk_loads_nothing_heavy():
    probe = ("import sys\nfrom attractor_core.sdk import hookimpl, Outcome, DeferredHandler\n"
             "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, timeout=60)
    loaded = set(done.stdout.split())
    assert "attractor_core.plugins" in loaded
    assert not loaded & {"trio", "attractor_core.engine.stage_run", "attractor_core.runtime.events",
                         "attractor_core.process_group"}


def test_the_docs_and_the_docstring_list_exactly_what_the_sdk_exports():
    plugins_md = (Path(__file__).parent.parent / "docs" / "plugins.md").read_text()
    table = plugins_md[plugins_md.index("| Group | Names |"):]
    table = table[:table.index("\n\n")]
    assert set(re.findall(r"`(\w+)`", table)) == set(sdk.__all__)
    assert sdk.__doc__ is not None
    assert set(re.findall(r"``(\w+)``", sdk.__doc__)) >= set(sdk.__all__)
