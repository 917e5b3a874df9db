"""A wheel carries the instance configuration, and a home prepared from the installed package gets its pools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from tests.ops.services import PROJECT_ROOT

PACKAGED = PROJECT_ROOT / "pipelines" / "dagster.yaml"


def test_the_root_instance_config_is_the_packaged_one() -> None:
    # `dagster dev` from the checkout reads the root file; every tmeet-etl home gets the packaged one.
    assert (PROJECT_ROOT / "dagster.yaml").read_bytes() == PACKAGED.read_bytes(), (
        "dagster.yaml differs from pipelines/dagster.yaml: edit pipelines/dagster.yaml and copy it to the root"
    )


def test_an_installed_wheel_prepares_a_home_with_the_pools(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves a build/ directory beside the sources.
    source = tmp_path / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "data", "build", "tests", "bench", "*.egg-info", "__pycache__", ".tmp_dagster_home_*"))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
         str(source)],
        check=True, capture_output=True, text=True, timeout=600,
    )
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "pipelines/dagster.yaml" in archive.namelist()
    # Unpacked away from the checkout, with no root dagster.yaml beside it: what an installed wheel sees.
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    assert not (site / "dagster.yaml").exists()
    home = tmp_path / "home"
    script = (
        "import sys, pipelines.instance as i; "
        "assert i.__file__.startswith(sys.argv[2]), i.__file__; "
        "from pathlib import Path; i.prepare_home(Path(sys.argv[1]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DAGSTER_HOME")}
    env["PYTHONPATH"] = str(site)
    subprocess.run([sys.executable, "-c", script, str(home), str(site)], check=True, env=env, cwd=tmp_path,
                   capture_output=True, text=True, timeout=300)
    written = yaml.safe_load((home / "dagster.yaml").read_text(encoding="utf-8"))
    shipped = yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))
    assert written == shipped
    assert written["concurrency"]["pools"]["default_limit"] >= 1
    assert written["concurrency"]["runs"]["max_concurrent_runs"] >= 1
