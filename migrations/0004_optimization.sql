-- Control optimisation runs: an optimisation input (docs/controls.md) with its re-check options as
-- parameters, the chosen controls, re-check and frontier as results (JSON text). The same shape as
-- simulation_runs, so the job queue and the API treat both alike.
CREATE TABLE optimization_runs (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    name         TEXT,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    parameters   TEXT NOT NULL,
    results      TEXT,
    error        TEXT,
    created_by   TEXT,
    job_id       TEXT,            -- the risk.optimize job; a dead job fails its run
    created_at   BIGINT NOT NULL,
    started_at   BIGINT,
    completed_at BIGINT
);
CREATE INDEX optimization_runs_org ON optimization_runs (org_id, created_at);
