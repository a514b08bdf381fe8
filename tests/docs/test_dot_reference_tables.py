"""docs/dot-reference.md's attribute tables are the declared attribute schema, rendered.

``python -m attractor_core.docs_tables`` writes them; these tests fail while the page differs
from what it would write, and say to run it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from attractor_core.docs_tables import COMMAND, schema_of, undocumented

DOC = Path(__file__).resolve().parents[2] / "docs" / "dot-reference.md"


def tables(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "attractor_core.docs_tables", *map(str, args)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_reference_tables_are_up_to_date() -> None:
    done = tables("--check", DOC)
    assert done.returncode == 0, (
        f"docs/dot-reference.md is out of date with the attribute schema; run `{COMMAND}`\n"
        + done.stderr)


def test_every_declared_attribute_has_a_doc_line() -> None:
    assert undocumented(schema_of()) == []


def test_a_stale_table_is_found_and_regenerated(tmp_path: Path) -> None:
    stale = tmp_path / "dot-reference.md"
    text = DOC.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `tool_command` |"))
    stale.write_text(text.replace(row + "\n", ""), encoding="utf-8")
    check = tables("--check", stale)
    assert check.returncode == 1
    assert "node-type-attributes" in check.stderr and COMMAND in check.stderr
    assert tables(stale).returncode == 0
    assert stale.read_text(encoding="utf-8") == text


def test_a_page_without_the_markers_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# no tables here\n", encoding="utf-8")
    done = tables("--check", page)
    assert done.returncode == 2
    assert "no generated region 'graph-attributes'" in done.stderr
