-- Meeting attendance: for each ended meeting instance, who took part, split by kind (enterprise,
-- external, pstn, rooms), how many join sessions they made, and the average share of the meeting's
-- duration that a participant attended (attended_seconds / duration_seconds, capped at 1; NULL when
-- the meeting has no duration or no participants).
-- publish: per business_date of meetings, attendance
CREATE TABLE report_meeting_attendance AS
SELECT
    m.meeting_id,
    m.sub_meeting_id,
    m.start_time,
    m.end_time,
    m.business_date,
    m.subject,
    m.meeting_type,
    m.creator_userid,
    m.duration_seconds,
    count(a.person_key) AS participants,
    count(a.person_key) FILTER (WHERE a.person_kind = 'enterprise') AS enterprise_participants,
    count(a.person_key) FILTER (WHERE a.person_kind = 'external') AS external_participants,
    count(a.person_key) FILTER (WHERE a.person_kind = 'pstn') AS pstn_participants,
    count(a.person_key) FILTER (WHERE a.person_kind = 'rooms') AS rooms_participants,
    CAST(coalesce(sum(a.sessions), 0) AS BIGINT) AS sessions,
    coalesce(sum(a.attended_seconds), 0.0) AS attended_seconds,
    avg(
        -- least() skips NULLs in DuckDB, so guard a missing attendance row explicitly.
        CASE WHEN m.duration_seconds > 0 AND a.attended_seconds IS NOT NULL
            THEN least(a.attended_seconds / m.duration_seconds, 1.0)
        END
    ) AS avg_attended_share
FROM meetings AS m
LEFT JOIN attendance AS a
    ON a.meeting_id = m.meeting_id
   AND a.sub_meeting_id = m.sub_meeting_id
   AND a.meeting_start_time = m.start_time
GROUP BY ALL
ORDER BY m.start_time, m.meeting_id, m.sub_meeting_id;

COMMENT ON TABLE report_meeting_attendance IS 'One row per ended meeting instance: who took part, by kind, and the average share of the meeting they attended.';
COMMENT ON COLUMN report_meeting_attendance.meeting_id IS 'Meeting id (text: it does not fit in int64).';
COMMENT ON COLUMN report_meeting_attendance.sub_meeting_id IS 'Occurrence of a recurring meeting; empty for a one-off meeting.';
COMMENT ON COLUMN report_meeting_attendance.start_time IS 'Actual start of the instance (UTC).';
COMMENT ON COLUMN report_meeting_attendance.end_time IS 'Actual end of the instance (UTC).';
COMMENT ON COLUMN report_meeting_attendance.business_date IS 'Local date of start_time in the account''s time zone.';
COMMENT ON COLUMN report_meeting_attendance.subject IS 'Meeting subject as created.';
COMMENT ON COLUMN report_meeting_attendance.meeting_type IS 'Platform meeting type: 0 one-off, 1 recurring, 6 webinar.';
COMMENT ON COLUMN report_meeting_attendance.creator_userid IS 'Userid of the meeting''s creator.';
COMMENT ON COLUMN report_meeting_attendance.duration_seconds IS 'Instance duration, in seconds.';
COMMENT ON COLUMN report_meeting_attendance.participants IS 'Distinct people who attended.';
COMMENT ON COLUMN report_meeting_attendance.enterprise_participants IS 'Of those, directory users.';
COMMENT ON COLUMN report_meeting_attendance.external_participants IS 'Of those, guests from outside the enterprise.';
COMMENT ON COLUMN report_meeting_attendance.pstn_participants IS 'Of those, phone dial-ins.';
COMMENT ON COLUMN report_meeting_attendance.rooms_participants IS 'Of those, Tencent Meeting Rooms devices.';
COMMENT ON COLUMN report_meeting_attendance.sessions IS 'Join sessions of all participants.';
COMMENT ON COLUMN report_meeting_attendance.attended_seconds IS 'Attended seconds summed over participants.';
COMMENT ON COLUMN report_meeting_attendance.avg_attended_share IS 'Average share of the duration a participant attended (each capped at 1); NULL without duration or participants.';
