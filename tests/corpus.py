"""Where the shared pipeline corpus lives: ``../shared/corpus/kilroy`` beside the repository.

Tests that read it skip when the folder is absent (a checkout without shared/).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "kilroy"
