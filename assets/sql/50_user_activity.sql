-- User activity: for each user in the directory, meetings hosted and attended, minutes attended,
-- the last time they were active, whether they have been inactive for 30 days, and their licence
-- status (users.status_label: enabled, disabled, inactive).
-- Inactive means no meeting hosted or attended on any business date in the 30 days ending on
-- report_as_of (the publish date in the account's time zone unless the publisher sets another).
CREATE TABLE report_user_activity AS
WITH hosted AS (
    SELECT
        creator_userid AS userid,
        count(*) AS meetings_hosted,
        max(business_date) AS last_hosted_date,
        max(coalesce(end_time, start_time)) AS last_hosted_at
    FROM meetings
    WHERE creator_userid IS NOT NULL
    GROUP BY creator_userid
),
attended AS (
    SELECT
        userid,
        count(*) AS meetings_attended,
        coalesce(sum(attended_seconds), 0) / 60.0 AS attended_minutes,
        max(business_date) AS last_attended_date,
        max(coalesce(last_left_time, first_join_time)) AS last_attended_at
    FROM attendance
    WHERE userid IS NOT NULL
    GROUP BY userid
),
as_of AS (
    SELECT coalesce(CAST(getvariable('report_as_of') AS DATE), current_date) AS report_as_of
),
activity AS (
    SELECT
        u.userid,
        u.user_name,
        u.main_department_id,
        u.main_department_name,
        u.role_name,
        u.status,
        u.status_label AS licence_status,
        coalesce(h.meetings_hosted, 0) AS meetings_hosted,
        coalesce(a.meetings_attended, 0) AS meetings_attended,
        coalesce(a.attended_minutes, 0.0) AS attended_minutes,
        greatest(h.last_hosted_at, a.last_attended_at) AS last_activity_at,
        greatest(h.last_hosted_date, a.last_attended_date) AS last_active_date,
        as_of.report_as_of
    FROM users AS u
    LEFT JOIN hosted AS h USING (userid)
    LEFT JOIN attended AS a USING (userid)
    CROSS JOIN as_of
)
SELECT
    *,
    last_active_date IS NULL OR last_active_date <= report_as_of - 30 AS inactive_30d
FROM activity
ORDER BY userid;

COMMENT ON TABLE report_user_activity IS 'One row per directory user: meetings hosted and attended, last activity, licence status and whether inactive for 30 days.';
COMMENT ON COLUMN report_user_activity.userid IS 'Directory userid.';
COMMENT ON COLUMN report_user_activity.user_name IS 'Display name (never used as an identity).';
COMMENT ON COLUMN report_user_activity.main_department_id IS 'Main department id.';
COMMENT ON COLUMN report_user_activity.main_department_name IS 'Main department name.';
COMMENT ON COLUMN report_user_activity.role_name IS 'Role name in the enterprise.';
COMMENT ON COLUMN report_user_activity.status IS 'Platform user status code: 1 enabled, 0 disabled, 2 inactive.';
COMMENT ON COLUMN report_user_activity.licence_status IS 'status as a label: enabled, disabled or inactive.';
COMMENT ON COLUMN report_user_activity.meetings_hosted IS 'Ended meeting instances the user created.';
COMMENT ON COLUMN report_user_activity.meetings_attended IS 'Meeting instances the user attended.';
COMMENT ON COLUMN report_user_activity.attended_minutes IS 'Minutes the user attended in total.';
COMMENT ON COLUMN report_user_activity.last_activity_at IS 'Last instant the user hosted or attended a meeting (UTC).';
COMMENT ON COLUMN report_user_activity.last_active_date IS 'Business date of that last activity.';
COMMENT ON COLUMN report_user_activity.report_as_of IS 'The date the 30-day window ends on (the publish date in the account''s time zone).';
COMMENT ON COLUMN report_user_activity.inactive_30d IS 'True when the user hosted and attended nothing in the 30 days ending on report_as_of.';
