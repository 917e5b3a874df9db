"""Jobs: the daily pull, the recordings look-back, the hourly snapshots, the webhook rebuilds and the publish.

Each selects by the tags the assets declare (``assets.tags``), so a new table joins its jobs by
declaring its kind; ``tag:tmeet/kind=pull`` selects the same assets in the UI.
"""

import dagster as dg

from assets import registry, tags
from assets.warehouse import warehouse

PULL = dg.AssetSelection.tag(tags.KIND, "pull")
LOOKBACK = dg.AssetSelection.tag(tags.LOOKBACK, tags.TRUE)
SNAPSHOT = dg.AssetSelection.tag(tags.KIND, "snapshot")
WEBHOOK = dg.AssetSelection.tag(tags.KIND, "webhook")
PUBLISH = dg.AssetSelection.tag(tags.KIND, "publish") | dg.AssetSelection.tag(tags.KIND, "report")

DAILY = PULL | PUBLISH
RECORDINGS_LOOKBACK = (PULL & LOOKBACK) | PUBLISH


def selected(selection: dg.AssetSelection) -> list[dg.AssetKey]:
    """The asset keys a selection resolves to among the code location's assets, sorted."""
    return sorted(selection.resolve([*registry.TABLE_ASSETS, warehouse]))


daily_job = dg.define_asset_job(
    "daily_job",
    selection=DAILY,
    description="Yesterday's meetings, participants and recordings, the directory, then the warehouse.",
)

recordings_lookback_job = dg.define_asset_job(
    "recordings_lookback_job",
    selection=RECORDINGS_LOOKBACK,
    description="Recent dates' recordings again: transcoding finishes late and views keep coming.",
)

snapshot_job = dg.define_asset_job(
    "snapshot_job",
    selection=SNAPSHOT,
    description="Upcoming and live meetings as of now; the warehouse follows on the publish debounce.",
)

webhook_job = dg.define_asset_job(
    "webhook_job",
    selection=WEBHOOK,
    description="The business dates new pushed events touch, rebuilt from the webhook inbox; the warehouse "
    "follows on the publish debounce.",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=PUBLISH,
    description="The warehouse and the reporting tables, rebuilt from the lake and swapped in atomically.",
)
