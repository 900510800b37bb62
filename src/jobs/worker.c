#include "jobs/jobs.h"

#include "core/alloc.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct slot {
    pthread_t thread;
    struct job_pool *pool;
    int index;
    /* the running job, for the heartbeat (guarded by pool->mu) */
    bool busy;
    char id[ID_UUID_LEN];
    char token[ID_UUID_LEN];
};

struct job_pool {
    struct store *store;
    struct job_pool_opts o;
    char owner[96];
    pthread_mutex_t mu;
    pthread_cond_t wake;
    atomic_bool stopping; /* written under mu; read by handlers through ctx.stopping */
    bool kicked;        /* an enqueue happened since workers last looked */
    int alive;          /* workers not yet exited */
    pthread_cond_t exited;
    pthread_t heartbeat;
    struct slot *slots;
};

static const struct job_kind *find_kind(const struct job_pool *p, const char *kind)
{
    for (size_t i = 0; i < p->o.nkinds; i++)
        if (!strcmp(p->o.kinds[i].kind, kind))
            return &p->o.kinds[i];
    return NULL;
}

static void log_job(enum log_level lvl, const char *event, const struct job_row *j, const char *err,
                    int64_t extra_ms)
{
    json_t *f = json_pack("{s:s,s:s,s:i}", "job_id", j->id, "kind", j->kind, "attempt", j->attempts);
    if (err)
        json_object_set_new(f, "error", json_string(err));
    if (extra_ms >= 0)
        json_object_set_new(f, "ms", json_integer(extra_ms));
    log_json(lvl, event, f);
}

static void run_one(struct slot *sl, struct job_row *j)
{
    struct job_pool *p = sl->pool;
    const struct job_kind *k = find_kind(p, j->kind);
    struct buf err;
    buf_init(&err, BUF_CAP_SMALL);
    json_t *result = NULL;
    int rc;
    uint64_t t0 = clock_mono_ns();
    log_job(LOG_INFO, "job.started", j, NULL, -1);

    json_error_t je;
    json_t *payload = json_loads(j->payload ? j->payload : "{}", 0, &je);
    bool permanent = false;
    if (!k) {
        rc = AEG_EINVAL;
        buf_printf(&err, "unknown job kind \"%s\"", j->kind);
        permanent = true; /* retrying cannot teach this binary a new kind */
    } else if (!payload) {
        rc = AEG_EJSON;
        buf_printf(&err, "stored payload is not JSON: %s", je.text);
        permanent = true;
    } else {
        struct job_ctx ctx = {.job = j, .store = p->store, .app = p->o.app,
                              .stopping = &p->stopping};
        rc = k->fn(&ctx, payload, &result, &err);
        if (rc && err.len == 0)
            buf_adds(&err, aeg_code_message(rc));
    }
    json_decref(payload);
    int64_t ms = (int64_t)((clock_mono_ns() - t0) / 1000000);
    int64_t now = clock_now_ms();

    if (rc == AEG_OK) {
        char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        int s = store_job_complete(p->store, j->id, j->lease_token, text, now);
        free(text);
        if (s == AEG_OK)
            log_job(LOG_INFO, "job.completed", j, NULL, ms);
        else if (s == AEG_ELEASE)
            log_job(LOG_WARN, "job.lease_lost", j, "finished after its lease was taken; result dropped",
                    ms);
        else
            log_job(LOG_ERROR, "job.store_failed", j, aeg_code_message(s), ms);
    } else {
        bool dead = permanent || j->attempts >= j->max_attempts;
        int64_t retry_at = dead ? -1 : now + job_backoff_ms(j->attempts, p->o.backoff_base_ms,
                                                            p->o.backoff_max_ms);
        int s = store_job_fail(p->store, j->id, j->lease_token, buf_str(&err), retry_at, now);
        if (s == AEG_OK)
            log_job(dead ? LOG_ERROR : LOG_WARN, dead ? "job.dead" : "job.retry", j, buf_str(&err),
                    dead ? ms : retry_at - now);
        else
            log_job(LOG_ERROR, s == AEG_ELEASE ? "job.lease_lost" : "job.store_failed", j,
                    buf_str(&err), ms);
    }
    json_decref(result);
    buf_release(&err);
}

static void *worker_main(void *arg)
{
    struct slot *sl = arg;
    struct job_pool *p = sl->pool;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        bool stop = atomic_load(&p->stopping);
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;

        struct job_row j;
        int rc = store_job_claim(p->store, p->owner, clock_now_ms(), p->o.lease_ms, &j);
        if (rc == AEG_OK) {
            pthread_mutex_lock(&p->mu);
            sl->busy = true;
            memcpy(sl->id, j.id, sizeof sl->id);
            memcpy(sl->token, j.lease_token, sizeof sl->token);
            pthread_mutex_unlock(&p->mu);
            run_one(sl, &j);
            pthread_mutex_lock(&p->mu);
            sl->busy = false;
            pthread_mutex_unlock(&p->mu);
            job_row_free(&j);
            continue; /* there may be more work: look again at once */
        }
        if (rc != AEG_ENOTFOUND && rc != AEG_EUNAVAIL)
            log_msg(LOG_ERROR, "job.claim_failed", "%s", aeg_code_message(rc));

        /* Idle: sleep until the poll interval passes, an enqueue kicks us, or shutdown. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)p->o.poll_ms * 1000000L;
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_mutex_lock(&p->mu);
        while (!atomic_load(&p->stopping) && !p->kicked) {
            if (pthread_cond_timedwait(&p->wake, &p->mu, &until) == ETIMEDOUT)
                break;
        }
        p->kicked = false;
        pthread_mutex_unlock(&p->mu);
    }
    pthread_mutex_lock(&p->mu);
    p->alive--;
    pthread_cond_broadcast(&p->exited);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Extends the lease of every running job at a third of the lease period, so a job that runs longer
 * than one lease keeps it while its worker lives. */
static void *heartbeat_main(void *arg)
{
    struct job_pool *p = arg;
    int64_t period = p->o.lease_ms / 3 > 0 ? p->o.lease_ms / 3 : 1;
    pthread_mutex_lock(&p->mu);
    while (p->alive > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(period % 1000) * 1000000L;
        until.tv_sec += period / 1000 + ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&p->exited, &p->mu, &until);
        if (p->alive == 0)
            break;
        for (int i = 0; i < p->o.workers; i++) {
            struct slot *sl = &p->slots[i];
            if (!sl->busy)
                continue;
            char id[ID_UUID_LEN], token[ID_UUID_LEN];
            memcpy(id, sl->id, sizeof id);
            memcpy(token, sl->token, sizeof token);
            pthread_mutex_unlock(&p->mu);
            int rc = store_job_extend(p->store, id, token, clock_now_ms() + p->o.lease_ms);
            if (rc && rc != AEG_ELEASE)
                log_msg(LOG_WARN, "job.heartbeat_failed", "job %s: %s", id, aeg_code_message(rc));
            pthread_mutex_lock(&p->mu);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int job_pool_start(struct store *s, const struct job_pool_opts *o, struct job_pool **out)
{
    *out = NULL;
    if (o->workers < 0 || o->lease_ms < 1 || o->poll_ms < 1 || o->backoff_base_ms < 1)
        return AEG_EINVAL;
    struct job_pool *p = xcalloc(1, sizeof *p);
    p->store = s;
    p->o = *o;
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    snprintf(p->owner, sizeof p->owner, "%s:%d", host, (int)getpid());
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->exited, NULL);
    p->slots = xcalloc((size_t)(o->workers ? o->workers : 1), sizeof *p->slots);
    p->alive = o->workers;
    for (int i = 0; i < o->workers; i++) {
        p->slots[i].pool = p;
        p->slots[i].index = i;
        pthread_create(&p->slots[i].thread, NULL, worker_main, &p->slots[i]);
    }
    pthread_create(&p->heartbeat, NULL, heartbeat_main, p);
    *out = p;
    return AEG_OK;
}

void job_pool_notify(struct job_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->kicked = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

int job_pool_running(struct job_pool *p)
{
    int n = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->o.workers; i++)
        n += p->slots[i].busy;
    pthread_mutex_unlock(&p->mu);
    return n;
}

bool job_pool_stop(struct job_pool *p, int timeout_s)
{
    if (!p)
        return true;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stopping, true);
    pthread_cond_broadcast(&p->wake);
    int running = 0;
    for (int i = 0; i < p->o.workers; i++)
        running += p->slots[i].busy;
    if (running)
        log_msg(LOG_INFO, "jobs.draining", "waiting for %d running job(s)", running);
    while (p->alive > 0) {
        if (pthread_cond_timedwait(&p->exited, &p->mu, &until) == ETIMEDOUT)
            break;
    }
    int left = p->alive;
    pthread_mutex_unlock(&p->mu);
    if (left > 0) {
        log_msg(LOG_WARN, "jobs.drain_timeout",
                "%d job(s) still running after %d s; they will be reclaimed after their lease", left,
                timeout_s);
        return false;
    }
    for (int i = 0; i < p->o.workers; i++)
        pthread_join(p->slots[i].thread, NULL);
    pthread_join(p->heartbeat, NULL);
    pthread_cond_destroy(&p->exited);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->slots);
    free(p);
    return true;
}
