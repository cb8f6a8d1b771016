-- Login sessions, the per-email password throttle and the audit trail.

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;

CREATE INDEX idx_sessions_user_id ON sessions (user_id);

-- Keyed by canonical email whether or not an account has it, so that a
-- lock-out reveals nothing about which emails are registered.
CREATE TABLE login_throttles (
    email_canonical TEXT    NOT NULL PRIMARY KEY,
    failed_attempts INTEGER NOT NULL CHECK (failed_attempts > 0),
    last_failure_at INTEGER NOT NULL
) STRICT;

-- Append-only. user_id has no foreign key so that events outlive accounts.
CREATE TABLE audit_events (
    id        INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event     TEXT    NOT NULL,
    user_id   TEXT,
    at        INTEGER NOT NULL,
    client    TEXT,
    detail    TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX idx_audit_events_user_at ON audit_events (user_id, at);
CREATE INDEX idx_audit_events_at ON audit_events (at);

CREATE TRIGGER audit_events_append_only
BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
