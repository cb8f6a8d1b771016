DROP TRIGGER IF EXISTS audit_events_append_only;
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS login_throttles;
DROP TABLE IF EXISTS sessions;
