DROP TABLE IF EXISTS mfa_pending_setups;
DROP TABLE IF EXISTS backup_codes;
DROP TABLE IF EXISTS users;
