"""rds-probes, the probes' own distribution: Django-free, and released with the plugin."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pulp_rds_tests
import rds_probes
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def test_the_probes_import_without_django():
    # A fresh interpreter: this one has Django loaded by other tests.
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, rds_probes; print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_plugin_requires_the_probes_of_its_own_version_line():
    project = tomllib.loads((ROOT / "server_plugin" / "pyproject.toml").read_text())["project"]
    (probes,) = [
        Requirement(text)
        for text in project["dependencies"]
        if Requirement(text).name == "rds-probes"
    ]
    assert rds_probes.__version__ == pulp_rds_tests.__version__
    assert probes.specifier.contains(rds_probes.__version__)
    major, minor, _ = rds_probes.__version__.split(".")
    assert not probes.specifier.contains(f"{major}.{int(minor) + 1}.0"), probes


def test_the_operators_guide_installs_both_wheels_of_this_version():
    lines = (ROOT / "README.md").read_text().splitlines()
    version = rds_probes.__version__
    (build,) = [line for line in lines if line.startswith("pip wheel --no-deps ./rds-tui/")]
    (install,) = [line for line in lines if line.startswith("RUN pip install --no-deps")]
    assert "./rds-tui/probes" in build and "./rds-tui/server_plugin" in build
    for wheel in (f"rds_probes-{version}-", f"pulp_rds_tests-{version}-"):
        assert wheel in install, (wheel, install)
