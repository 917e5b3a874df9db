-- Recording engagement: for each recording, its views and downloads (recording_events), unique
-- viewers (users with a view event or a play in recording_view_details), seconds watched, and the
-- share of the meeting's attendees who watched it.
-- The meeting is the instance of recordings.meeting_id whose [start_time, end_time] contains the
-- recording's media_start_time. Its attendees are the attendance rows of that instance that have a
-- userid (guests and phone dial-ins without one cannot be matched to viewers, so they are left
-- out of the share). attendee_watch_share is NULL when that instance has no such attendees.
-- Views and events are filed under their recording's business date, and a recording falls inside a
-- meeting instance that started no later than it did.
-- publish: per business_date of recordings, recording_events, recording_view_details; whole meetings, attendance
CREATE TABLE report_recording_engagement AS
WITH event_counts AS (
    SELECT
        meeting_record_id,
        count(*) FILTER (WHERE event_kind = 'view') AS views,
        count(*) FILTER (WHERE event_kind = 'download') AS downloads
    FROM recording_events
    GROUP BY meeting_record_id
),
viewers AS (
    SELECT meeting_record_id, userid
    FROM recording_events
    WHERE event_kind = 'view' AND userid IS NOT NULL
    UNION
    SELECT meeting_record_id, userid
    FROM recording_view_details
    WHERE userid IS NOT NULL
),
watched AS (
    SELECT meeting_record_id, sum(watched_seconds) AS watched_seconds
    FROM recording_view_details
    GROUP BY meeting_record_id
),
recorded_instance AS (
    SELECT r.meeting_record_id, m.meeting_id, m.sub_meeting_id, m.start_time
    FROM recordings AS r
    JOIN meetings AS m
        ON m.meeting_id = r.meeting_id
       AND r.media_start_time >= m.start_time
       AND (m.end_time IS NULL OR r.media_start_time <= m.end_time)
    QUALIFY row_number() OVER (PARTITION BY r.meeting_record_id ORDER BY m.start_time DESC) = 1
),
attendees AS (
    SELECT DISTINCT i.meeting_record_id, a.userid
    FROM recorded_instance AS i
    JOIN attendance AS a
        ON a.meeting_id = i.meeting_id
       AND a.sub_meeting_id = i.sub_meeting_id
       AND a.meeting_start_time = i.start_time
    WHERE a.userid IS NOT NULL
),
audience AS (
    SELECT
        coalesce(att.meeting_record_id, v.meeting_record_id) AS meeting_record_id,
        count(DISTINCT v.userid) AS unique_viewers,
        count(DISTINCT att.userid) AS meeting_attendees,
        count(DISTINCT att.userid) FILTER (WHERE v.userid IS NOT NULL) AS attendees_who_watched
    FROM attendees AS att
    FULL OUTER JOIN viewers AS v
        ON v.meeting_record_id = att.meeting_record_id AND v.userid = att.userid
    GROUP BY 1
)
SELECT
    r.meeting_record_id,
    r.meeting_id,
    r.subject,
    r.host_userid,
    r.media_start_time,
    r.business_date,
    coalesce(e.views, 0) AS views,
    coalesce(e.downloads, 0) AS downloads,
    coalesce(au.unique_viewers, 0) AS unique_viewers,
    coalesce(w.watched_seconds, 0.0) AS watched_seconds,
    coalesce(au.meeting_attendees, 0) AS meeting_attendees,
    coalesce(au.attendees_who_watched, 0) AS attendees_who_watched,
    CASE WHEN coalesce(au.meeting_attendees, 0) > 0
        THEN au.attendees_who_watched / au.meeting_attendees
    END AS attendee_watch_share
FROM recordings AS r
LEFT JOIN event_counts AS e USING (meeting_record_id)
LEFT JOIN watched AS w USING (meeting_record_id)
LEFT JOIN audience AS au USING (meeting_record_id)
ORDER BY r.media_start_time, r.meeting_record_id;

COMMENT ON TABLE report_recording_engagement IS 'One row per recording: views, downloads, viewers, seconds watched and the share of the meeting''s attendees who watched.';
COMMENT ON COLUMN report_recording_engagement.meeting_record_id IS 'Recording id.';
COMMENT ON COLUMN report_recording_engagement.meeting_id IS 'Meeting the recording belongs to.';
COMMENT ON COLUMN report_recording_engagement.subject IS 'Meeting subject.';
COMMENT ON COLUMN report_recording_engagement.host_userid IS 'Userid of the recording''s host.';
COMMENT ON COLUMN report_recording_engagement.media_start_time IS 'When recording started (UTC).';
COMMENT ON COLUMN report_recording_engagement.business_date IS 'Local date of media_start_time.';
COMMENT ON COLUMN report_recording_engagement.views IS 'View events (recording_events).';
COMMENT ON COLUMN report_recording_engagement.downloads IS 'Download events (recording_events).';
COMMENT ON COLUMN report_recording_engagement.unique_viewers IS 'Distinct users with a view event or a play.';
COMMENT ON COLUMN report_recording_engagement.watched_seconds IS 'Seconds watched over all plays (recording_view_details).';
COMMENT ON COLUMN report_recording_engagement.meeting_attendees IS 'Attendees with a userid of the recorded meeting instance.';
COMMENT ON COLUMN report_recording_engagement.attendees_who_watched IS 'Of those, how many watched the recording.';
COMMENT ON COLUMN report_recording_engagement.attendee_watch_share IS 'attendees_who_watched / meeting_attendees; NULL when there are no such attendees.';
