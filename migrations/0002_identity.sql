-- Tenancy and identity: organisations, users, login sessions, API keys, and the tamper-evident audit log.
-- Times are UTC milliseconds since the epoch. Secrets are never stored: sessions and keys keep only a
-- keyed SHA-256 (HMAC with AEGIS_KEY_PEPPER); passwords an Argon2id encoding.
CREATE TABLE orgs (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL,
    plan                   TEXT NOT NULL DEFAULT 'free',
    status                 TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
    stripe_customer_id     TEXT,
    stripe_subscription_id TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    email         TEXT NOT NULL UNIQUE,
    name          TEXT,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
    password_hash TEXT,
    invite_hash   TEXT UNIQUE,     -- set while an invitation is open (the user has no password yet)
    invite_expires_at BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    last_login_at BIGINT
);
CREATE INDEX users_org ON users (org_id, created_at);

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'analyst', 'viewer')),
    created_by   TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys (org_id, created_at);

-- Append-only. Each organisation's rows form a chain: hash = SHA-256 over the row's content and the
-- previous row's hash; audit_heads keeps each chain's last seq and hash, sealed with a MAC over both, so
-- a removed tail is caught too (moving the head back would need the key).
-- org_id '-' is the chain of events that belong to no organisation (a failed login for an unknown email).
CREATE TABLE audit_log (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    ts          BIGINT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    target_type TEXT,
    target_id   TEXT,
    request_id  TEXT,
    ip          TEXT,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (org_id, seq)
);
CREATE INDEX audit_log_org_ts ON audit_log (org_id, ts, seq);

CREATE TABLE audit_heads (
    org_id TEXT PRIMARY KEY,
    seq    BIGINT NOT NULL,
    hash   TEXT NOT NULL,
    mac    TEXT NOT NULL
);
