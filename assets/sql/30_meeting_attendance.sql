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
    coalesce(sum(a.sessions), 0) AS sessions,
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
