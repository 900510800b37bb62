-- The persistent job queue (src/jobs). Times are UTC milliseconds since the epoch.
-- state: queued -> running -> done | queued (retry after backoff) | dead (attempts exhausted; last_error kept)
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    org_id       TEXT,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'dead')),
    priority     INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 5,
    run_at       BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_token  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    result       TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT
);
CREATE INDEX jobs_claim ON jobs (state, run_at);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
CREATE INDEX jobs_org ON jobs (org_id, created_at);
