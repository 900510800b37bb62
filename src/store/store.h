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

#endif
