-- Cyber-risk quantification: an organisation's library of FAIR scenarios, and its simulation runs.
-- Documents are JSON text (the scenario object of docs/scenarios.md; a run's parameters and results).
CREATE TABLE scenarios (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE simulation_runs (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    name         TEXT,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    parameters   TEXT NOT NULL,
    results      TEXT,
    error        TEXT,
    created_by   TEXT,
    job_id       TEXT,            -- the risk.simulate job; a dead job fails its run
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT
);
CREATE INDEX simulation_runs_org ON simulation_runs (org_id, created_at);
