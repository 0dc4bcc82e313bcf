-- Progress rows completed before their user signed up: impossible in a correct migration.
-- Used by the rule `completed_before_signup` (rules/business.yaml); every returned row is one violation.
--
-- Tables are named SOURCE.TABLE. The timestamps are text in the exports (users.created_at as
-- '2026-11-20 14:03:00', user_progress.completed_at as '2026-11-20T14:03:00Z'), so both sides are
-- cast before they are compared. Rows whose user is missing (orphans) or NULL (guest attempts)
-- drop out of the inner join: the foreign_key rule `progress_user_exists` reports those.
SELECT
    p.id           AS progress_id,
    p.user_id,
    p.completed_at,
    u.created_at   AS signed_up_at
FROM prod.user_progress AS p
JOIN prod.users AS u ON u.id = p.user_id
WHERE CAST(p.completed_at AS TIMESTAMP) < CAST(u.created_at AS TIMESTAMP)
ORDER BY p.id
