from __future__ import annotations

import pytest

from pipelines.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "tmeet-etl" in capsys.readouterr().out
