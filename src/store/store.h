/*
 * store: the public face of persistence. A struct store owns a pool of connections to one database
 * (opened by URL) and every repository function takes the store, then the tenant context, then its
 * arguments. SQL lives only in this directory. Never sees HTTP types.
 *
 * Tenant context: every call that touches an organisation's data takes `const struct tenant *` first and
 * filters by tenant->org_id. A NULL tenant means "the operator" (CLI, job workers) and is accepted only
 * by the functions that say so.
 */
#ifndef AEGIS_STORE_STORE_H
#define AEGIS_STORE_STORE_H

#include "core/ids.h"
#include "store/db.h"
#include "store/migrate.h"

#include <stdbool.h>
#include <stdint.h>

struct store;

struct tenant {
    const char *org_id;   /* the organisation every query is scoped to */
    const char *actor_id; /* user or API key id, for the audit trail */
};

/* Opens the pool. AEG_OK, or an error with the reason in err (nothing left open). */
int store_open(const char *url, int pool_size, struct store **out, char *err, size_t errlen);
void store_close(struct store *s);
/* Borrow a connection for a unit of work; always give it back. */
struct db *store_conn(struct store *s);
void store_release(struct store *s, struct db *db);

/* Runs body(db, arg) in one write transaction on a pooled connection: commits when it returns AEG_OK,
 * rolls back otherwise, and returns body's result (or the commit's error). */
int store_tx(struct store *s, int (*body)(struct db *db, void *arg), void *arg);

/* Readiness: the database answers, and the schema is at the binary's version. */
int store_ping(struct store *s, char *err, size_t errlen);
int store_migrate(struct store *s, int *applied, char *err, size_t errlen);
int store_migrate_status(struct store *s, struct migrate_status *st, char *err, size_t errlen);

/* ---- jobs (store/jobs.c) ------------------------------------------------------------------------- */

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_DEAD, JOB__NSTATES };
const char *job_state_name(enum job_state s);
int job_state_parse(const char *s); /* -1 when unknown */

struct job_row {
    char id[ID_UUID_LEN];
    char *org_id; /* NULL for system jobs */
    char *kind;
    char *payload;
    enum job_state state;
    int attempts, max_attempts;
    int64_t run_at, lease_until;
    char lease_token[ID_UUID_LEN];
    char *lease_owner;
    char *last_error;
    char *result;
    int64_t created_at, updated_at, started_at, completed_at;
};
void job_row_free(struct job_row *r);

/* Inserts a queued job. tenant may be NULL (a system job). id_out receives the new id. */
int store_job_insert(struct store *s, const struct tenant *t, const char *kind, const char *payload,
                     int max_attempts, int64_t run_at, char id_out[ID_UUID_LEN]);
/* The same on a connection, inside the caller's transaction (a run and its job commit together). */
int store_job_insert_db(struct db *db, const struct tenant *t, const char *kind, const char *payload,
                        int max_attempts, int64_t run_at, char id_out[ID_UUID_LEN]);
/* Claims the next runnable job: queued with run_at <= now, or running with an expired lease (a worker
 * died). Jobs whose lease expired with no attempts left become dead instead. Returns AEG_OK with *out
 * filled (attempts already counted, a fresh lease_token), or AEG_ENOTFOUND when nothing is runnable. */
int store_job_claim(struct store *s, const char *owner, int64_t now, int64_t lease_ms,
                    struct job_row *out);
/* Records success and the result, only while `token` still holds the lease: AEG_ELEASE otherwise (the
 * job was reclaimed by another worker, whose completion is the one that counts). */
int store_job_complete(struct store *s, const char *id, const char *token, const char *result,
                       int64_t now);
/* Records a failure: back to queued at retry_at, or dead when retry_at < 0. AEG_ELEASE as above. */
int store_job_fail(struct store *s, const char *id, const char *token, const char *error,
                   int64_t retry_at, int64_t now);
/* Pushes the lease out to lease_until while the job runs. AEG_ELEASE when the lease is gone. */
int store_job_extend(struct store *s, const char *id, const char *token, int64_t lease_until);
/* Reads one job; a NULL tenant (operator) sees every job, otherwise only the tenant's (AEG_ENOTFOUND). */
int store_job_get(struct store *s, const struct tenant *t, const char *id, struct job_row *out);
/* Counts jobs by state (index = enum job_state), all organisations: for /metrics. */
int store_job_counts(struct store *s, int64_t counts[JOB__NSTATES]);
/* Lists up to `limit` jobs, newest first, optionally only one state (state < 0: all); operator view. */
int store_job_list(struct store *s, int state, int limit, void (*fn)(const struct job_row *, void *),
                   void *arg);

/* ---- identity (store/identity.c) ----------------------------------------------------------------
 * These take a connection (struct db *) so a caller can make several changes, and their audit rows,
 * one transaction: db = store_conn(s); db_begin_write(db); ...; db_commit(db); store_release(s, db).
 * Roles are stored as text: owner, admin, analyst, viewer. */

struct org_row {
    char id[ID_UUID_LEN];
    char *name, *plan, *status;
    int64_t created_at, updated_at;
};
struct user_row {
    char id[ID_UUID_LEN];
    char org_id[ID_UUID_LEN];
    char *email, *name, *role, *password_hash;
    int64_t created_at, updated_at, last_login_at;
};
struct key_row {
    char id[ID_UUID_LEN];
    char org_id[ID_UUID_LEN];
    char *name, *prefix, *role, *created_by;
    int64_t created_at, expires_at, revoked_at, last_used_at; /* 0 = none */
};
struct session_row {
    char id[ID_UUID_LEN];
    char org_id[ID_UUID_LEN];
    char user_id[ID_UUID_LEN];
    int64_t created_at, expires_at, revoked_at;
};
void org_row_free(struct org_row *r);
void user_row_free(struct user_row *r);
void key_row_free(struct key_row *r);

/* Organisations. Creating one needs no tenant (it makes one); reading is the tenant's own only. */
int store_org_insert(struct db *db, const struct org_row *o);
int store_org_get(struct db *db, const struct tenant *t, struct org_row *out);

/* Users. AEG_ECONFLICT when the email is taken (emails are unique across organisations). */
int store_user_insert(struct db *db, const struct tenant *t, const struct user_row *u);
int store_user_get(struct db *db, const struct tenant *t, const char *id, struct user_row *out);
/* Login looks a user up by email before any tenant is known: the one unscoped user read. */
int store_user_by_email(struct db *db, const char *email, struct user_row *out);
int store_user_list(struct db *db, const struct tenant *t,
                    void (*fn)(const struct user_row *, void *), void *arg);
int store_user_set_role(struct db *db, const struct tenant *t, const char *id, const char *role,
                        int64_t now);
int store_user_delete(struct db *db, const struct tenant *t, const char *id);
int store_user_count_role(struct db *db, const struct tenant *t, const char *role, int64_t *n);
int store_user_touch_login(struct db *db, const struct tenant *t, const char *id, int64_t now);
/* Invitations: a user created without a password carries the keyed hash of an invitation token until
 * it is accepted. */
int store_user_set_invite(struct db *db, const struct tenant *t, const char *id,
                          const char *invite_hash, int64_t expires_at);
/* The invited user of an open, unexpired invitation (unscoped: the token is the credential). */
int store_user_by_invite(struct db *db, const char *invite_hash, int64_t now, struct user_row *out);
/* Sets the password and closes the invitation. */
int store_user_accept_invite(struct db *db, const struct tenant *t, const char *id,
                             const char *password_hash, int64_t now);

/* Sessions and API keys: looked up by the keyed hash of the secret (unscoped: this is how a request
 * finds its tenant). Lookups return AEG_ENOTFOUND for unknown, expired or revoked ones. */
int store_session_insert(struct db *db, const struct tenant *t, const struct session_row *r,
                         const char *token_hash);
int store_session_lookup(struct db *db, const char *token_hash, int64_t now,
                         struct session_row *out, struct user_row *user);
int store_session_revoke(struct db *db, const struct tenant *t, const char *id, int64_t now);
int store_session_revoke_user(struct db *db, const struct tenant *t, const char *user_id,
                              int64_t now);
int store_key_insert(struct db *db, const struct tenant *t, const struct key_row *k,
                     const char *key_hash);
int store_key_lookup(struct db *db, const char *key_hash, int64_t now, struct key_row *out);
int store_key_get(struct db *db, const struct tenant *t, const char *id, struct key_row *out);
int store_key_list(struct db *db, const struct tenant *t,
                   void (*fn)(const struct key_row *, void *), void *arg);
/* AEG_ENOTFOUND when the key is not the tenant's; AEG_ECONFLICT when already revoked. */
int store_key_revoke(struct db *db, const struct tenant *t, const char *id, int64_t now);
int store_key_touch(struct db *db, const char *id, int64_t now);

/* ---- risk (store/risk.c): scenario library and simulation runs ------------------------------------ */

struct scenario_row {
    char id[ID_UUID_LEN];
    char *name, *document; /* document: the scenario object, JSON text */
    int64_t created_at, updated_at;
};
void scenario_row_free(struct scenario_row *r);
/* AEG_ECONFLICT when the organisation already has a scenario of that name. */
int store_scenario_insert(struct db *db, const struct tenant *t, const struct scenario_row *r);
int store_scenario_get(struct db *db, const struct tenant *t, const char *id, struct scenario_row *out);
int store_scenario_list(struct db *db, const struct tenant *t,
                        void (*fn)(const struct scenario_row *, void *), void *arg);
int store_scenario_update(struct db *db, const struct tenant *t, const struct scenario_row *r);
int store_scenario_delete(struct db *db, const struct tenant *t, const char *id);

struct simrun_row {
    char id[ID_UUID_LEN];
    char org_id[ID_UUID_LEN];
    char *name, *status, *parameters, *results, *error, *created_by;
    char job_id[ID_UUID_LEN];
    int64_t created_at, started_at, completed_at;
};
void simrun_row_free(struct simrun_row *r);
int store_simrun_insert(struct db *db, const struct tenant *t, const struct simrun_row *r);
int store_simrun_get(struct db *db, const struct tenant *t, const char *id, struct simrun_row *out);
/* Newest first; before_created_at/before_id page (0/NULL: from the newest). Results are not read. */
int store_simrun_list(struct db *db, const struct tenant *t, int limit,
                      void (*fn)(const struct simrun_row *, void *), void *arg);
/* Status changes by the job worker (the tenant is the run's organisation). */
int store_simrun_start(struct db *db, const struct tenant *t, const char *id, int64_t now);
int store_simrun_finish(struct db *db, const struct tenant *t, const char *id, const char *status,
                        const char *results, const char *error, int64_t now);
/* Optimisation runs (optimization_runs): the same row and contracts as simulation runs. */
int store_optrun_insert(struct db *db, const struct tenant *t, const struct simrun_row *r);
int store_optrun_get(struct db *db, const struct tenant *t, const char *id, struct simrun_row *out);
int store_optrun_list(struct db *db, const struct tenant *t, int limit,
                      void (*fn)(const struct simrun_row *, void *), void *arg);
int store_optrun_start(struct db *db, const struct tenant *t, const char *id, int64_t now);
int store_optrun_finish(struct db *db, const struct tenant *t, const char *id, const char *status,
                        const char *results, const char *error, int64_t now);

/* ---- traces (store/traces.c): AI-output traces and their Tier-1 results ---------------------------
 * A batch of traces is written in one transaction through a struct trace_writer, whose prepared
 * statements are reused row after row (ingestion runs at thousands of traces per second). */

struct trace_row {
    char id[ID_UUID_LEN];
    char batch_id[ID_UUID_LEN];
    char job_id[ID_UUID_LEN];            /* "" when evaluated inline */
    char *domain, *external_id, *model;  /* external_id, model: NULL when absent */
    char *tags;                          /* JSON list text, or NULL */
    char *input, *output, *metadata;     /* metadata: JSON object text, or NULL */
    bool output_json;                    /* output is JSON text */
    bool has_latency, has_cost;
    double latency_ms, cost;
    bool anonymized;
    char *verdict;                       /* NULL until evaluated */
    char *status, *error, *spec_version;
    int64_t created_at, evaluated_at, time_us;
};
void trace_row_free(struct trace_row *r);

struct trace_result_row {
    const char *constraint_id, *verdict, *severity;
    const char *evidence; /* JSON list text */
    int tier;
    bool applicable;
    int64_t time_us;
};

/* The outcome of one trace's evaluation: status "evaluated" with a verdict and results, or
 * "failed" with error (and no results). */
struct trace_outcome {
    const char *status, *verdict, *error, *spec_version;
    int64_t time_us, evaluated_at;
    const struct trace_result_row *results;
    size_t nresults;
};

struct trace_writer;
/* Prepares the statements on db (inside the caller's write transaction). AEG_OK with *out (close
 * with trace_writer_close), or the error with *out NULL. */
int trace_writer_open(struct db *db, const struct tenant *t, struct trace_writer **out);
void trace_writer_close(struct trace_writer *w);
/* Inserts a trace and its tags (tags: the strings of r->tags, ntags of them). */
int trace_writer_insert(struct trace_writer *w, const struct trace_row *r,
                        const char *const *tags, size_t ntags);
/* Records an evaluation: replaces the trace's results (a rerun never duplicates them) and sets its
 * verdict, status, error and times. AEG_ENOTFOUND when the trace is not the tenant's. */
int trace_writer_outcome(struct trace_writer *w, const char *trace_id,
                         const struct trace_outcome *o);

int store_trace_get(struct db *db, const struct tenant *t, const char *id, struct trace_row *out);
/* The results of one trace, in constraint order of the spec as stored (rowid order). */
int store_trace_results(struct db *db, const struct tenant *t, const char *id,
                        void (*fn)(const struct trace_result_row *, void *), void *arg);

struct trace_filter {
    const char *domain, *verdict, *status, *tag; /* NULL = any */
    const char *constraint;            /* traces with a result of this constraint ... */
    const char *constraint_verdict;    /* ... of this verdict; NULL: fail or uncertain */
    int64_t since_ms, until_ms;        /* created_at in [since, until); 0 = open */
    int64_t after_created_at;          /* cursor: rows strictly before (created_at, id) ... */
    const char *after_id;              /* ... of this pair; NULL = from the newest */
    int limit;
};
/* Newest first by (created_at, id). */
int store_trace_list(struct db *db, const struct tenant *t, const struct trace_filter *f,
                     void (*fn)(const struct trace_row *, void *), void *arg);
/* Up to limit traces of a batch still queued (for the eval.tier1 job). */
int store_trace_batch_queued(struct db *db, const struct tenant *t, const char *batch_id, int limit,
                             void (*fn)(const struct trace_row *, void *), void *arg);
/* Domain specs uploaded by an organisation (domain_specs). */
struct domain_spec_row {
    char id[ID_UUID_LEN]; /* new on every save: compiled copies are cached by it */
    char *name, *version, *yaml, *created_by;
    int64_t created_at, updated_at;
};
void domain_spec_row_free(struct domain_spec_row *r);
/* Creates the organisation's spec of r->name, or replaces it (id, version, yaml, updated_at);
 * *created tells which. */
int store_domain_spec_put(struct db *db, const struct tenant *t, const struct domain_spec_row *r,
                          bool *created);
int store_domain_spec_get(struct db *db, const struct tenant *t, const char *name,
                          struct domain_spec_row *out);
/* By name; the YAML is not read. */
int store_domain_spec_list(struct db *db, const struct tenant *t,
                           void (*fn)(const struct domain_spec_row *, void *), void *arg);
int store_domain_spec_delete(struct db *db, const struct tenant *t, const char *name);
/* The organisation's evaluation settings (defaults when it has no row). */
int store_eval_settings_get(struct db *db, const struct tenant *t, bool *store_anonymized);

/* ---- audit log (store/audit.c) --------------------------------------------------------------------
 * Append-only: there is no update or delete function. Each organisation's rows form a chain: the hash of
 * a row is HMAC-SHA-256 (keyed with the pepper) over its content and the previous row's hash. Append
 * inside the caller's write transaction, so the change and its audit row commit together. */

#define AUDIT_NO_ORG "-" /* the chain of events that belong to no organisation */

struct audit_event {
    const char *actor_type; /* "user", "key", "system", "anonymous" */
    const char *actor_id;
    const char *action;     /* "signup", "login", "login.failed", "key.created", ... */
    const char *target_type;
    const char *target_id;
    const char *request_id;
    const char *ip;
    const char *outcome;    /* "success", "failure", "denied" */
    const char *detail;     /* short JSON text or NULL; never a secret */
};

struct audit_row {
    char id[ID_UUID_LEN];
    char *org_id;
    int64_t seq, ts;
    char *actor_type, *actor_id, *action, *target_type, *target_id, *request_id, *ip, *outcome,
        *detail, *prev_hash, *hash;
};
void audit_row_free(struct audit_row *r);

int store_audit_append(struct db *db, const char *key, const char *org_id,
                       const struct audit_event *e, int64_t now);

struct audit_filter {
    int64_t from_ms, to_ms; /* 0 = open */
    const char *actor_id;   /* NULL = any */
    const char *action;     /* NULL = any; a trailing '*' matches a prefix ("key.*") */
    int64_t before_seq;     /* cursor: rows with seq < before_seq (newest first); 0 = from the newest */
    int limit;
};
int store_audit_list(struct db *db, const struct tenant *t, const struct audit_filter *f,
                     void (*fn)(const struct audit_row *, void *), void *arg);

struct audit_problem {
    char org_id[ID_UUID_LEN];
    int64_t seq;        /* the first row found wrong (or missing) */
    char row_id[ID_UUID_LEN]; /* "" when the row is missing */
    char kind[16];      /* "altered", "inserted", "removed" */
    char message[300];
};
/* Walks the chain of one organisation (org_id) or of all (NULL). *rows counts the rows checked, *chains
 * the chains. Returns AEG_OK when every chain is intact; AEG_ECONFLICT with the first problem of the
 * first broken chain in *p; another error when the database fails. */
int store_audit_verify(struct db *db, const char *key, const char *org_id, int64_t *rows,
                       int64_t *chains, struct audit_problem *p);

#endif
