-- Login sessions, the per-email password throttle and the audit trail.

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX idx_sessions_user_id ON sessions (user_id);

-- Keyed by canonical email whether or not an account has it, so that a
-- lock-out reveals nothing about which emails are registered.
CREATE TABLE login_throttles (
    email_canonical TEXT    NOT NULL PRIMARY KEY,
    failed_attempts INTEGER NOT NULL CHECK (failed_attempts > 0),
    last_failure_at BIGINT  NOT NULL
);

-- Append-only. user_id has no foreign key so that events outlive accounts.
CREATE TABLE audit_events (
    id      BIGSERIAL PRIMARY KEY,
    event   TEXT   NOT NULL,
    user_id TEXT,
    at      BIGINT NOT NULL,
    client  TEXT,
    detail  TEXT   NOT NULL DEFAULT ''
);

CREATE INDEX idx_audit_events_user_at ON audit_events (user_id, at);
CREATE INDEX idx_audit_events_at ON audit_events (at);

CREATE FUNCTION audit_events_refuse_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;

CREATE TRIGGER audit_events_append_only
BEFORE UPDATE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update();
