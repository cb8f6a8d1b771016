//! The tables, declared once for both backends.
//!
//! Only portable SQL types appear here (`BigInt`, `Integer`, `Text`, `Bool`,
//! `Binary`, `Nullable`), so one set of queries compiles for SQLite and for
//! PostgreSQL. The migrations of each backend must keep matching this file.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        email_canonical -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        mfa_enabled -> Bool,
        mfa_secret -> Nullable<Binary>,
        mfa_enabled_at -> Nullable<BigInt>,
        mfa_last_step -> Nullable<BigInt>,
        mfa_failed_attempts -> Integer,
        mfa_last_failure_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    backup_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Binary,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    mfa_pending_setups (user_id) {
        user_id -> Text,
        setup_id -> Text,
        sealed_secret -> Binary,
        code_hashes -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
        failed_attempts -> Integer,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked -> Bool,
    }
}

diesel::table! {
    login_throttles (email_canonical) {
        email_canonical -> Text,
        failed_attempts -> Integer,
        last_failure_at -> BigInt,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        event -> Text,
        user_id -> Nullable<Text>,
        at -> BigInt,
        client -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::joinable!(backup_codes -> users (user_id));
diesel::joinable!(mfa_pending_setups -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    backup_codes,
    mfa_pending_setups,
    sessions,
    login_throttles,
    audit_events,
);
