-- Daily usage: for each business date, how many meeting instances were held and for how long,
-- how many join sessions there were, how many distinct people (and distinct enterprise users)
-- took part, and the attendee-minutes they spent. Attendee-minutes come from attendance's merged
-- intervals, so a person on two devices at once is counted once.
-- publish: per business_date of meetings, participant_sessions, attendance
CREATE TABLE report_daily_usage AS
WITH held AS (
    SELECT
        business_date,
        count(*) AS meetings_held,
        sum(duration_seconds) AS total_duration_seconds,
        avg(duration_seconds) AS avg_duration_seconds
    FROM meetings
    GROUP BY business_date
),
joined AS (
    SELECT business_date, count(*) AS sessions
    FROM participant_sessions
    GROUP BY business_date
),
attended AS (
    SELECT
        business_date,
        count(DISTINCT person_key) AS distinct_participants,
        count(DISTINCT person_key) FILTER (WHERE person_kind = 'enterprise') AS distinct_enterprise_users,
        coalesce(sum(attended_seconds), 0) / 60.0 AS attendee_minutes
    FROM attendance
    GROUP BY business_date
),
days AS (
    SELECT business_date FROM held
    UNION
    SELECT business_date FROM joined
    UNION
    SELECT business_date FROM attended
)
SELECT
    days.business_date,
    coalesce(held.meetings_held, 0) AS meetings_held,
    coalesce(held.total_duration_seconds, 0.0) AS total_duration_seconds,
    held.avg_duration_seconds,
    coalesce(joined.sessions, 0) AS sessions,
    coalesce(attended.distinct_participants, 0) AS distinct_participants,
    coalesce(attended.distinct_enterprise_users, 0) AS distinct_enterprise_users,
    coalesce(attended.attendee_minutes, 0.0) AS attendee_minutes
FROM days
LEFT JOIN held USING (business_date)
LEFT JOIN joined USING (business_date)
LEFT JOIN attended USING (business_date)
ORDER BY days.business_date;

COMMENT ON TABLE report_daily_usage IS 'One row per business date with any meeting, session or attendance: meetings held, sessions, distinct people and attendee-minutes.';
COMMENT ON COLUMN report_daily_usage.business_date IS 'Business date, local to the account (TMEET_TIMEZONE).';
COMMENT ON COLUMN report_daily_usage.meetings_held IS 'Ended meeting instances whose business date this is.';
COMMENT ON COLUMN report_daily_usage.total_duration_seconds IS 'Sum of those meetings'' durations, in seconds.';
COMMENT ON COLUMN report_daily_usage.avg_duration_seconds IS 'Average meeting duration in seconds; NULL on a day with sessions but no ended meeting.';
COMMENT ON COLUMN report_daily_usage.sessions IS 'Join sessions (every rejoin and every device is one).';
COMMENT ON COLUMN report_daily_usage.distinct_participants IS 'Distinct people (person_key) who attended any meeting that day.';
COMMENT ON COLUMN report_daily_usage.distinct_enterprise_users IS 'Of those, people of kind enterprise (directory users).';
COMMENT ON COLUMN report_daily_usage.attendee_minutes IS 'Attended minutes summed over people, two devices at once counted once.';
