-- Accounts, their MFA columns, backup codes and pending MFA setups.
-- Tables are STRICT: a column holds only values of its declared type.
-- INTEGER is SQLite's 64-bit integer: unix seconds and TOTP steps fit.
-- Booleans are INTEGER 0 or 1; UUIDs are their 36-character text form.

CREATE TABLE users (
    id                  TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    email               TEXT    NOT NULL,
    email_canonical     TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    created_at          INTEGER NOT NULL,
    mfa_enabled         INTEGER NOT NULL DEFAULT 0 CHECK (mfa_enabled IN (0, 1)),
    mfa_secret          BLOB,
    mfa_enabled_at      INTEGER,
    mfa_last_step       INTEGER CHECK (mfa_last_step >= 0),
    mfa_failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (mfa_failed_attempts >= 0),
    mfa_last_failure_at INTEGER,
    CONSTRAINT users_email_canonical_key UNIQUE (email_canonical),
    -- MFA is either fully on (a sealed secret and a time) or fully off
    -- (nothing left behind): no half-enabled user can exist.
    CONSTRAINT users_mfa_state CHECK (
        (mfa_enabled = 1 AND mfa_secret IS NOT NULL AND mfa_enabled_at IS NOT NULL)
        OR (mfa_enabled = 0 AND mfa_secret IS NULL AND mfa_enabled_at IS NULL
            AND mfa_last_step IS NULL)
    )
) STRICT;

CREATE INDEX idx_users_mfa_enabled ON users (mfa_enabled);
CREATE INDEX idx_users_mfa_enabled_at ON users (mfa_enabled_at);

-- One row per active backup code: spending one is a single conditional
-- UPDATE of its used_at.
CREATE TABLE backup_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL CHECK (length(code_hash) = 32),
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

-- At most one setup per user waits for its verification code.
CREATE TABLE mfa_pending_setups (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    setup_id        TEXT    NOT NULL CHECK (length(setup_id) = 36),
    sealed_secret   BLOB    NOT NULL,
    -- The hashes of the codes shown, 32 bytes each, in the order shown.
    code_hashes     BLOB    NOT NULL CHECK (length(code_hashes) % 32 = 0),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0)
) STRICT;
