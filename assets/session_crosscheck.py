"""Event-derived sessions (``live_attendance``) against the pull's ``participant_sessions``.

Sessions match on (meeting_id, sub_meeting_id, person_key, join_time) with a time tolerance:
events carry ``operate_time`` in milliseconds while the participants API reports whole seconds,
and the two are stamped by different services, so the same join can differ by a moment.
``TIME_TOLERANCE`` (2 s) covers the truncation to seconds (< 1 s) plus that skew, and stays far
below the gap between two real sessions of one person in one meeting (a rejoin takes seconds to
minutes; two devices of one person are told apart by the key only when they start apart).
Leave times are compared with the same tolerance once the joins are matched.

Only meetings both sources cover are compared: the pull lists ended meetings only, and the
receiver may have started after a meeting began. Pure pandas, no Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

TIME_TOLERANCE = pd.Timedelta(seconds=2)
INSTANCE = ["meeting_id", "sub_meeting_id"]
PERSON = [*INSTANCE, "person_key"]
SAMPLE_ROWS = 10
_COLUMNS = [*PERSON, "join_time", "left_time"]


@dataclass(frozen=True)
class SessionComparison:
    """The outcome for one business date; the frames hold the sessions that found no partner."""

    meetings_compared: int
    pulled: int
    from_events: int
    matched: int
    only_in_pull: pd.DataFrame
    only_in_events: pd.DataFrame
    left_time_differs: pd.DataFrame

    @property
    def consistent(self) -> bool:
        return self.only_in_pull.empty and self.only_in_events.empty and self.left_time_differs.empty

    def summary(self) -> dict[str, int]:
        return {
            "meetings_compared": self.meetings_compared,
            "pulled_sessions": self.pulled,
            "event_sessions": self.from_events,
            "matched": self.matched,
            "only_in_pull": len(self.only_in_pull),
            "only_in_events": len(self.only_in_events),
            "left_time_differs": len(self.left_time_differs),
        }


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Key columns as str and instants as UTC datetimes, which ``merge_asof`` handles on every dtype backend."""
    out = pd.DataFrame({name: frame[name].astype(str).to_numpy() for name in PERSON})
    for name in ("join_time", "left_time"):
        out[name] = pd.to_datetime(frame[name].astype("datetime64[ms, UTC]").to_numpy(), utc=True)
    return out


def _covered(pulled: pd.DataFrame, events: pd.DataFrame, tolerance: pd.Timedelta) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both sides cut to the meetings both hold, events cut to the span the pull saw of each meeting.

    The span keeps a meeting id that is reused (a personal meeting room, another day) from
    pulling unrelated sessions into the comparison.
    """
    ends = pulled["left_time"].fillna(pulled["join_time"])
    spans = (
        pulled.assign(_end=ends)
        .groupby(INSTANCE, as_index=False)
        .agg(_first=("join_time", "min"), _last=("_end", "max"))
    )
    inside = events.merge(spans, on=INSTANCE, how="inner")
    inside = inside[(inside["join_time"] >= inside["_first"] - tolerance) & (inside["join_time"] <= inside["_last"] + tolerance)]
    both = inside[INSTANCE].drop_duplicates()
    return (
        pulled.merge(both, on=INSTANCE, how="inner")[_COLUMNS],
        inside[_COLUMNS].reset_index(drop=True),
    )


def _nearest(left: pd.DataFrame, right: pd.DataFrame, tolerance: pd.Timedelta) -> pd.DataFrame:
    """Each ``left`` session with the ``right`` session of the same person whose join is nearest within tolerance."""
    partner = right.rename(columns={"join_time": "other_join_time", "left_time": "other_left_time"})
    partner["join_time"] = partner["other_join_time"]
    return pd.merge_asof(
        left.sort_values("join_time", kind="stable"),
        partner.sort_values("join_time", kind="stable"),
        on="join_time",
        by=PERSON,
        tolerance=tolerance,
        direction="nearest",
    )


def compare_sessions(
    pulled: pd.DataFrame, events: pd.DataFrame, tolerance: pd.Timedelta = TIME_TOLERANCE
) -> SessionComparison:
    """Compare one date's pulled sessions with the event-derived sessions around it."""
    pulled_plain, events_plain = _covered(_plain(pulled), _plain(events), tolerance)
    pull_side = _nearest(pulled_plain, events_plain, tolerance)
    event_side = _nearest(events_plain, pulled_plain, tolerance)
    found = pull_side["other_join_time"].notna()
    matched = pull_side[found]
    both_open = matched["left_time"].isna() & matched["other_left_time"].isna()
    gap = (matched["left_time"] - matched["other_left_time"]).abs()
    differs = matched[~both_open & ~(gap <= tolerance).fillna(False).astype(bool)]
    key = [*PERSON, "join_time"]
    return SessionComparison(
        meetings_compared=len(pulled_plain[INSTANCE].drop_duplicates()),
        pulled=len(pulled_plain),
        from_events=len(events_plain),
        matched=int(found.sum()),
        only_in_pull=pull_side.loc[~found, _COLUMNS].sort_values(key, ignore_index=True),
        only_in_events=event_side.loc[event_side["other_join_time"].isna(), _COLUMNS].sort_values(key, ignore_index=True),
        left_time_differs=differs[[*_COLUMNS, "other_left_time"]]
        .rename(columns={"left_time": "pulled_left_time", "other_left_time": "event_left_time"})
        .sort_values(key, ignore_index=True),
    )
