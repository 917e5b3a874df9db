"""The layering the README draws, checked by import-linter on the real import graph (pyproject.toml's
[tool.importlinter] contracts)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(*args: str) -> subprocess.CompletedProcess[str]:
    program = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(program), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)


def test_every_layering_contract_is_kept() -> None:
    run = _lint_imports()
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def test_a_broken_contract_is_caught(tmp_path: Path) -> None:
    # The code location does import the assets: a contract forbidding it must fail, which shows
    # the contracts above are checked against the real graph, not trivially kept.
    config = tmp_path / "contracts.toml"
    config.write_text(
        '[tool.importlinter]\nroot_packages = ["pipelines", "assets"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "forbidden"\n'
        'source_modules = ["pipelines.definitions"]\nforbidden_modules = ["assets"]\n'
    )
    run = _lint_imports("--config", str(config))
    assert run.returncode != 0
    assert "upside down BROKEN" in run.stdout
