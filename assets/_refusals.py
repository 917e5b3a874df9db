"""What an asset run does when the platform will not serve it as asked.

Two cases, both loud and never an empty table:

- the platform refuses the configured auth mode on an endpoint the API reference documents as
  closed to it (:class:`AuthModeUnsupported`): the asset is skipped like a missing scope, with
  the fix in the run log, its checks and ``sync_log``;
- a 200 arrives without the list the endpoint is documented to return
  (:class:`ResponseShapeError`): the page is quarantined as received and the asset's
  ``response_shape`` check fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd

from assets.normalize._common import quarantine_rows
from resources.tencent.errors import AuthModeUnsupported, ResponseShapeError

SHAPE_CHECK = "response_shape"
NOT_RUN = "not run: "
NOT_RUN_AUTH_MODE = "(not run: auth mode)"


class AssetRefused(Exception):
    """The platform refuses this asset's endpoint to the configured auth mode; skip, do not fail."""

    def __init__(self, reason: str, api_calls: int = 0, tables: dict[str, str] | None = None) -> None:
        self.reason = reason
        self.api_calls = api_calls
        # Only these outputs were refused (output -> reason); None: every output of the step.
        self.tables = tables
        super().__init__(reason)


def refusal_reason(exc: AuthModeUnsupported) -> str:
    return f"auth mode not supported: {exc.detail}"


@dataclass
class StepProblems:
    """Shape errors met by one asset step, for its ``response_shape`` check."""

    shape_errors: list[str] = field(default_factory=list)


# Keyed by the step's execution context, which both the asset wrapper and its sync context hold.
_STEPS: dict[int, StepProblems] = {}


@contextmanager
def collecting_problems(context: object) -> Iterator[StepProblems]:
    problems = StepProblems()
    _STEPS[id(context)] = problems
    try:
        yield problems
    finally:
        _STEPS.pop(id(context), None)


def note_shape_errors(context: object, reasons: Iterable[str]) -> None:
    step = _STEPS.get(id(context))
    if step is not None:
        step.shape_errors.extend(reasons)


def shape_quarantine(asset: str, errors: Sequence[ResponseShapeError]) -> pd.DataFrame:
    """Quarantine rows holding each refused page as received, with the reason."""
    records = [_as_received(exc.raw) for exc in errors]
    reasons = [f"response shape: {exc.detail} [{exc.endpoint}]" for exc in errors]
    return quarantine_rows(asset, records, reasons)


def _as_received(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


def shape_check_results(
    context: dg.AssetExecutionContext, assets: Iterable[str], problems: StepProblems
) -> Iterator[dg.AssetCheckResult]:
    """One ``response_shape`` result per asset of the step that declares the check."""
    wanted = set(assets)
    failed = problems.shape_errors
    for key in context.selected_asset_check_keys:
        name = key.asset_key.to_user_string()
        if key.name != SHAPE_CHECK or name not in wanted:
            continue
        description = (
            f"{len(failed)} page(s) without the documented list, quarantined: {'; '.join(failed[:3])}"
            if failed else "every page had the documented list"
        )
        yield dg.AssetCheckResult(
            asset_key=key.asset_key, check_name=SHAPE_CHECK, passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR, description=description,
            metadata={"pages_quarantined": len(failed)},
        )


def not_run_checks(
    context: dg.AssetExecutionContext, reasons: dict[str, str], api_calls: int = 0
) -> Iterator[dg.AssetCheckResult]:
    """A WARN result on every selected check of a skipped asset, saying why it did not run.

    ``api_calls`` is what the step spent before the refusal, so run summaries count it.
    """
    for key in context.selected_asset_check_keys:
        reason = reasons.get(key.asset_key.to_user_string())
        if reason is not None:
            yield dg.AssetCheckResult(
                asset_key=key.asset_key, check_name=key.name, passed=False,
                severity=dg.AssetCheckSeverity.WARN, description=f"{NOT_RUN}{reason}",
                metadata={"api_calls": api_calls},
            )


def shape_check_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        SHAPE_CHECK, asset=asset,
        description="Every API page had the list its endpoint documents; a page without it is quarantined.",
    )
