-- AI-output traces and their Tier-1 evaluation (src/api/traces.c, src/services/traces.c).
-- A trace is ingested queued (an eval.tier1 job per batch evaluates it) or evaluated inline
-- (?wait=true). Texts are stored as given; JSON values (an output object, metadata, tags) as JSON
-- text. Times are UTC milliseconds; latency_ms and cost are the caller's figures as given (cost is
-- what one model call cost, a fraction of a cent, hence not integer minor units).
CREATE TABLE traces (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id),
    batch_id     TEXT NOT NULL,           -- the request that brought it; the job's unit of work
    domain       TEXT NOT NULL,
    external_id  TEXT,
    model        TEXT,
    latency_ms   DOUBLE PRECISION,
    cost         DOUBLE PRECISION,
    tags         TEXT,                    -- JSON list of strings (also in trace_tags, for filtering)
    input        TEXT NOT NULL,
    output       TEXT NOT NULL,
    output_json  INTEGER NOT NULL DEFAULT 0, -- 1: output is JSON text (the trace's output was an object or list)
    metadata     TEXT,                    -- JSON object text
    verdict      TEXT CHECK (verdict IN ('pass', 'uncertain', 'fail')), -- NULL until evaluated
    status       TEXT NOT NULL CHECK (status IN ('queued', 'evaluated', 'failed')),
    error        TEXT,                    -- why evaluation failed
    spec_version TEXT,                    -- of the domain spec that evaluated it
    time_us      BIGINT,                  -- Tier-1 time for the whole trace
    anonymized   INTEGER NOT NULL DEFAULT 0,
    job_id       TEXT,
    created_at   BIGINT NOT NULL,
    evaluated_at BIGINT
);
CREATE INDEX traces_org_created ON traces (org_id, created_at, id);
CREATE INDEX traces_org_domain ON traces (org_id, domain, created_at, id);
CREATE INDEX traces_org_verdict ON traces (org_id, verdict, created_at, id);
CREATE INDEX traces_batch ON traces (org_id, batch_id, status, id);

-- One row per constraint of the spec per evaluated trace. A re-evaluation replaces a trace's rows.
CREATE TABLE trace_results (
    trace_id      TEXT NOT NULL REFERENCES traces (id),
    org_id        TEXT NOT NULL REFERENCES orgs (id),
    constraint_id TEXT NOT NULL,
    verdict       TEXT NOT NULL CHECK (verdict IN ('pass', 'uncertain', 'fail')),
    severity      TEXT,
    tier          INTEGER NOT NULL,
    applicable    INTEGER NOT NULL DEFAULT 1,
    evidence      TEXT NOT NULL,          -- JSON list (eval_result_json's evidence of the constraint)
    time_us       BIGINT NOT NULL,
    constraint_index INTEGER NOT NULL,    -- the constraint's place in the spec
    PRIMARY KEY (trace_id, constraint_id)
);
-- No index led by org_id here: the planner would take it over the primary key for a trace's rows
-- (and scan the organisation's results). The constraint filter is an EXISTS on the primary key.

CREATE TABLE trace_tags (
    trace_id TEXT NOT NULL REFERENCES traces (id),
    org_id   TEXT NOT NULL REFERENCES orgs (id),
    tag      TEXT NOT NULL,
    PRIMARY KEY (trace_id, tag)
);
CREATE INDEX trace_tags_org ON trace_tags (org_id, tag, trace_id);

-- Per-organisation evaluation settings. store_anonymized = 1: trace texts are anonymised before
-- they are stored (the raw text never reaches the database). Not wired yet: see
-- text_for_storage() in src/api/traces.c.
CREATE TABLE org_eval_settings (
    org_id           TEXT PRIMARY KEY REFERENCES orgs (id),
    store_anonymized INTEGER NOT NULL DEFAULT 0,
    updated_at       BIGINT NOT NULL
);

-- Domain specs an organisation uploads (docs/domain-specs.md), as YAML text. One per name per
-- organisation; for that organisation it shadows a built-in spec of the same name. Replacing a
-- spec gives it a new id, which is what compiled copies are cached under.
CREATE TABLE domain_specs (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    yaml        TEXT NOT NULL,
    created_by  TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
