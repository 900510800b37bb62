/*
 * jobs: the persistent job queue and its worker pool.
 *
 * Long work is a row in `jobs` (store/jobs.c holds the SQL). job_enqueue() adds one; a pool of worker
 * threads claims runnable jobs with a lease, runs the handler registered for the job's kind, and records
 * the outcome: done (with its result), or a failure that is retried after an exponential backoff
 * (base * 2^(attempt-1), capped) until max_attempts, then dead with the last error kept. A heartbeat
 * extends the lease of running jobs; a job whose worker died is reclaimed once its lease expires.
 *
 * Exactly-once completion: a handler's durable outcome is its result, which is written in the same
 * statement that marks the job done, and only while the worker still holds the lease. A handler that
 * writes elsewhere must be idempotent (keyed by job id) because a crash between its write and the
 * completion makes the job run again.
 *
 * The pool owns its threads; job_pool_stop() stops claiming, waits for running jobs, and frees it.
 */
#ifndef AEGIS_JOBS_JOBS_H
#define AEGIS_JOBS_JOBS_H

#include "core/buf.h"
#include "store/store.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>

struct job_ctx {
    const struct job_row *job;  /* the claimed row (attempts already counts this run) */
    struct store *store;
    void *app;                  /* whatever the pool's creator passed */
    const atomic_bool *stopping; /* set when the server shuts down; long handlers may check it */
};

/* A handler returns AEG_OK and sets *result (a new reference, may stay NULL), or an error code and
 * writes a message to err. Handlers run on worker threads and must be thread-safe. */
typedef int (*job_fn)(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err);

struct job_kind {
    const char *kind;
    job_fn fn;
};

struct job_pool_opts {
    int workers;
    int64_t lease_ms;
    int poll_ms;
    int64_t backoff_base_ms;
    int64_t backoff_max_ms;
    const struct job_kind *kinds; /* borrowed: must outlive the pool */
    size_t nkinds;
    void *app;
};

struct job_pool;

/* Adds a queued job. payload is borrowed (serialised here). max_attempts <= 0 means 5 (callers normally pass AEGIS_JOB_MAX_ATTEMPTS). */
int job_enqueue(struct store *s, const struct tenant *t, const char *kind, const json_t *payload,
                int max_attempts, char id_out[ID_UUID_LEN]);
/* The delay before retry number `attempts` (1 = after the first failure). */
int64_t job_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms);

/* Starts the workers and the heartbeat. AEG_OK or AEG_EINVAL (bad options). */
int job_pool_start(struct store *s, const struct job_pool_opts *o, struct job_pool **out);
/* Wakes idle workers now (after an enqueue) instead of at their next poll. */
void job_pool_notify(struct job_pool *p);
/* Jobs currently running in this pool. */
int job_pool_running(struct job_pool *p);
/* Stops claiming and waits up to timeout_s for running jobs to finish. Returns true when every worker
 * finished (the pool is freed); false when some were still running (the pool is left to the exiting
 * process; their leases expire and the jobs are reclaimed on the next start). */
bool job_pool_stop(struct job_pool *p, int timeout_s);

/* Built-in diagnostic kinds (jobs/builtin.c): "diag.sleep" {"ms"} and "diag.fail"
 * {"succeed_on_attempt"}; used by operators to check the queue end to end, and by the tests. */
extern const struct job_kind job_builtin_kinds[];
extern const size_t job_builtin_nkinds;

#endif
