DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events;
DROP FUNCTION IF EXISTS audit_events_refuse_update();
DROP TABLE IF EXISTS audit_events;
DROP TABLE IF EXISTS login_throttles;
DROP TABLE IF EXISTS sessions;
