"""A lab for one probe benchmark run: started in a temporary directory, always stopped."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from rds_tui import lab as lab_module


@contextlib.contextmanager
def throwaway_lab(**options) -> Iterator[dict]:
    """Start a lab with these LabOptions fields; yield its status; stop it afterwards."""
    with tempfile.TemporaryDirectory(prefix="rds-bench-") as directory:
        print("starting a lab...", flush=True)
        lab = lab_module.start(Path(directory), lab_module.LabOptions(**options)).to_json()
        try:
            yield lab
        finally:
            lab_module.stop(Path(directory))
