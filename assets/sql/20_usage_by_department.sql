-- Usage by department: for each department and business date, how many of its people attended
-- meetings, how many meeting instances they were in, their join sessions and attendee-minutes.
-- A person counts in their main department only (user_departments.is_main), so departments add up
-- to the total without double counting. Enterprise attendees with no main department are listed
-- with department_id NULL and department_name '(no main department)'.
-- publish: per business_date of attendance
CREATE TABLE report_usage_by_department AS
WITH main_department AS (
    SELECT userid, department_id, department_name
    FROM user_departments
    WHERE is_main
    -- A user should have one main department; if the source ever lists two, pick one stably.
    QUALIFY row_number() OVER (PARTITION BY userid ORDER BY department_id) = 1
)
SELECT
    md.department_id,
    coalesce(md.department_name, '(no main department)') AS department_name,
    a.business_date,
    count(DISTINCT a.userid) AS active_users,
    count(DISTINCT (a.meeting_id, a.sub_meeting_id, a.meeting_start_time)) AS meetings_attended,
    CAST(sum(a.sessions) AS BIGINT) AS sessions,
    coalesce(sum(a.attended_seconds), 0) / 60.0 AS attendee_minutes
FROM attendance AS a
LEFT JOIN main_department AS md ON md.userid = a.userid
WHERE a.userid IS NOT NULL
  AND (md.userid IS NOT NULL OR a.person_kind = 'enterprise')
GROUP BY md.department_id, md.department_name, a.business_date
ORDER BY a.business_date, md.department_id NULLS LAST;

COMMENT ON TABLE report_usage_by_department IS 'One row per main department and business date: its people''s attendance. Departments add up to the enterprise total.';
COMMENT ON COLUMN report_usage_by_department.department_id IS 'The attendee''s main department; NULL for enterprise attendees without one.';
COMMENT ON COLUMN report_usage_by_department.department_name IS 'Department name, or ''(no main department)''.';
COMMENT ON COLUMN report_usage_by_department.business_date IS 'Business date of the meetings, local to the account.';
COMMENT ON COLUMN report_usage_by_department.active_users IS 'Distinct users of the department who attended a meeting that day.';
COMMENT ON COLUMN report_usage_by_department.meetings_attended IS 'Distinct meeting instances those users attended.';
COMMENT ON COLUMN report_usage_by_department.sessions IS 'Their join sessions.';
COMMENT ON COLUMN report_usage_by_department.attendee_minutes IS 'Their attended minutes, two devices at once counted once.';
