"""`.env.example` documents every setting the pipeline reads, and is itself a valid configuration."""

from __future__ import annotations

import re

from dotenv import dotenv_values

from resources.alerts import AlertSettings
from resources.settings import Settings
from resources.webhooks.settings import WebhookSettings
from tests.ops.services import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / ".env.example"
CODE_DIRS = ("pipelines", "assets", "resources")


def test_every_setting_read_by_the_code_is_in_the_example() -> None:
    named = {
        name
        for folder in CODE_DIRS
        for path in (PROJECT_ROOT / folder).rglob("*.py")
        for name in re.findall(r"\bTMEET_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8"))
    }
    # The settings models read their variables by prefix, so their names are not all spelled out.
    modelled = {*Settings.env_names().values(), *WebhookSettings.env_names().values(), *AlertSettings.env_names().values()}
    read = named | modelled
    documented = set(dotenv_values(EXAMPLE))
    assert read, "found no settings in the code; the scan is broken"
    assert not read - documented, sorted(read - documented)
    assert not {n for n in documented if n.startswith("TMEET_")} - read, "documented settings nobody reads"


def test_the_example_parses_as_it_stands() -> None:
    values = {k: v for k, v in dotenv_values(EXAMPLE).items() if v}
    settings = Settings.from_env(values)
    assert settings.timezone == "Asia/Shanghai" and settings.per_minute_limit == 300
    assert not AlertSettings.from_env(values).enabled
