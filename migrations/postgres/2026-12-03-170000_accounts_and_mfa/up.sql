-- Accounts, their MFA columns, backup codes and pending MFA setups.
-- Times are unix seconds (BIGINT); UUIDs are their 36-character text form,
-- as on SQLite, so that both backends share one diesel schema.

CREATE TABLE users (
    id                  TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 36),
    email               TEXT    NOT NULL,
    email_canonical     TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,
    created_at          BIGINT  NOT NULL,
    mfa_enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    mfa_secret          BYTEA,
    mfa_enabled_at      BIGINT,
    mfa_last_step       BIGINT  CHECK (mfa_last_step >= 0),
    mfa_failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (mfa_failed_attempts >= 0),
    mfa_last_failure_at BIGINT,
    CONSTRAINT users_email_canonical_key UNIQUE (email_canonical),
    -- MFA is either fully on (a sealed secret and a time) or fully off
    -- (nothing left behind): no half-enabled user can exist.
    CONSTRAINT users_mfa_state CHECK (
        (mfa_enabled AND mfa_secret IS NOT NULL AND mfa_enabled_at IS NOT NULL)
        OR (NOT mfa_enabled AND mfa_secret IS NULL AND mfa_enabled_at IS NULL
            AND mfa_last_step IS NULL)
    )
);

CREATE INDEX idx_users_mfa_enabled ON users (mfa_enabled);
CREATE INDEX idx_users_mfa_enabled_at ON users (mfa_enabled_at);

-- One row per active backup code: spending one is a single conditional
-- UPDATE of its used_at.
CREATE TABLE backup_codes (
    user_id    TEXT   NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA  NOT NULL CHECK (octet_length(code_hash) = 32),
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);

-- At most one setup per user waits for its verification code.
CREATE TABLE mfa_pending_setups (
    user_id         TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    setup_id        TEXT    NOT NULL CHECK (length(setup_id) = 36),
    sealed_secret   BYTEA   NOT NULL,
    -- The hashes of the codes shown, 32 bytes each, in the order shown.
    code_hashes     BYTEA   NOT NULL CHECK (octet_length(code_hashes) % 32 = 0),
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0)
);
