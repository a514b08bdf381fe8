"""Installing a plugin distribution for a test, as a user would: pip and its own build backend."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def pip_install(source: Path, site: Path) -> Path:
    """Build and install the distribution at ``source`` into the directory ``site``.

    Offline and without build isolation: hatchling comes from the test extra.
    """
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--no-index", "--target", str(site), str(source)],
                   check=True, capture_output=True)
    return site


def install_copy(fixture: Path, base: Path) -> Path:
    """Install a copy of ``fixture`` (the build writes into its source tree); returns the site."""
    source, site = base / fixture.name, base / f"{fixture.name}-site"
    shutil.copytree(fixture, source)
    return pip_install(source, site)
