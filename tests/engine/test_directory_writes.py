"""Atomic writes that share one directory descriptor and one directory fsync
(``directory_writes``): what lands on disk is what separate atomic writes leave."""

from __future__ import annotations

import contextvars
import os
from pathlib import Path

from attractor_core.runtime.atomic import directory_writes, write_json_atomic, write_text_atomic


def test_writes_in_the_block_land_whole_and_leave_no_temp_files(tmp_path: Path) -> None:
    stage, other = tmp_path / "stage", tmp_path / "other"
    stage.mkdir()
    other.mkdir()
    with directory_writes(stage):
        write_text_atomic(stage / "prompt.md", "first")
        write_text_atomic(stage / "prompt.md", "second")  # replaced, as a rename does
        write_json_atomic(stage / "status.json", {"outcome": "success"}, compact=True)
        write_text_atomic(other / "note.md", "elsewhere")  # another directory: by path
    assert (stage / "prompt.md").read_text() == "second"
    assert (stage / "status.json").read_text() == '{"outcome":"success"}\n'
    assert (other / "note.md").read_text() == "elsewhere"
    assert sorted(os.listdir(stage)) == ["prompt.md", "status.json"]
    assert oct((stage / "prompt.md").stat().st_mode & 0o777) == "0o644"


def test_a_write_after_the_block_from_its_context_goes_by_path(tmp_path: Path) -> None:
    """A task or thread started in the block keeps its context after the block ended: its
    writes must not use the closed descriptor (whose number another file may now hold)."""
    stage = tmp_path / "stage"
    stage.mkdir()
    with directory_writes(stage):
        inherited = contextvars.copy_context()
    decoy = os.open(tmp_path, os.O_RDONLY)  # likely takes the freed descriptor number
    try:
        inherited.run(write_text_atomic, stage / "late.md", "late")
    finally:
        os.close(decoy)
    assert (stage / "late.md").read_text() == "late"
    assert not (tmp_path / "late.md").exists()
