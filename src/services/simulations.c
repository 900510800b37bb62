#include "services/simulations.h"

#include "core/clock.h"
#include "core/err.h"
#include "risk/mc.h"
#include "risk/opt.h"

#include <stdlib.h>
#include <string.h>

/* What differs between the two kinds of run: the table's functions and the engine call. compute
 * turns the stored parameters into the results' JSON text (*results, malloc'd) or an error code
 * with msg; AEG_EUNAVAIL means cancelled by shutdown. */
struct run_kind {
    const char *what;
    int (*get)(struct db *, const struct tenant *, const char *, struct simrun_row *);
    int (*start)(struct db *, const struct tenant *, const char *, int64_t);
    int (*finish)(struct db *, const struct tenant *, const char *, const char *, const char *,
                  const char *, int64_t);
    int (*compute)(const json_t *params, int threads, const atomic_bool *stopping, char **results,
                   char *msg, size_t msglen);
};

static int run_job(const struct run_kind *k, struct job_ctx *ctx, const json_t *payload,
                   json_t **result, struct buf *err)
{
    const char *run_id = json_string_value(json_object_get(payload, "run_id"));
    const char *org = json_string_value(json_object_get(payload, "org_id"));
    json_int_t threads = json_integer_value(json_object_get(payload, "threads"));
    if (!run_id || !org) {
        buf_adds(err, "payload needs run_id and org_id");
        return AEG_EINVAL;
    }
    struct tenant t = {.org_id = org};
    struct db *db = store_conn(ctx->store);
    struct simrun_row run;
    int rc = k->get(db, &t, run_id, &run);
    if (!rc)
        rc = k->start(db, &t, run_id, clock_now_ms());
    store_release(ctx->store, db);
    if (rc) {
        buf_printf(err, "%s run %s: %s", k->what, run_id, aeg_code_message(rc));
        return rc == AEG_ENOTFOUND ? AEG_EINVAL : rc; /* a run that is gone: nothing to retry */
    }
    char msg[512] = "", *results = NULL;
    json_error_t je;
    json_t *params = json_loads(run.parameters, 0, &je);
    int e = AEG_EJSON;
    if (!params)
        snprintf(msg, sizeof msg, "stored parameters are not JSON: %s", je.text);
    else
        e = k->compute(params, threads > 0 ? (int)threads : 1, ctx->stopping, &results, msg,
                       sizeof msg);
    json_decref(params);
    simrun_row_free(&run);
    if (e == AEG_EUNAVAIL) { /* the server is stopping: the job is retried, the run runs again */
        buf_adds(err, "cancelled by shutdown");
        free(results);
        return AEG_EUNAVAIL;
    }
    db = store_conn(ctx->store);
    rc = k->finish(db, &t, run_id, e ? "failed" : "done", e ? NULL : results, e ? msg : NULL,
                   clock_now_ms());
    store_release(ctx->store, db);
    free(results);
    if (rc) {
        buf_printf(err, "%s run %s: cannot store the outcome: %s", k->what, run_id,
                   aeg_code_message(rc));
        return rc;
    }
    /* A model the engine refuses is the run's outcome (status failed), not a job to retry. */
    *result = json_pack("{s:s,s:s}", "run_id", run_id, "status", e ? "failed" : "done");
    return AEG_OK;
}

/* The results as compact JSON text, or AEG_EINTERNAL. */
static int render(json_t *j, char **results, char *msg, size_t msglen)
{
    *results = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(j);
    if (*results)
        return AEG_OK;
    snprintf(msg, msglen, "the results could not be rendered as JSON");
    return AEG_EINTERNAL;
}

/* A simulation: parameters {"portfolio", "iterations", "seed", "semantics"}. */
static int simulate(const json_t *params, int threads, const atomic_bool *stopping, char **results,
                    char *msg, size_t msglen)
{
    struct fair_portfolio p;
    int e = fair_parse(json_object_get(params, "portfolio"), &p, msg, msglen);
    if (!e) {
        const char *seed_s = json_string_value(json_object_get(params, "seed"));
        const char *sem = json_string_value(json_object_get(params, "semantics"));
        struct mc_opts o = {
            .iterations = (uint64_t)json_integer_value(json_object_get(params, "iterations")),
            .seed = seed_s ? strtoull(seed_s, NULL, 10) : 0,
            .semantics = sem && !strcmp(sem, "product") ? MC_PRODUCT : MC_COMPOUND,
            .threads = threads,
            .cancel = stopping,
        };
        struct mc_result r;
        e = mc_run(&p, &o, &r, msg, msglen);
        if (!e)
            e = render(mc_result_json(&r, &p), results, msg, msglen);
        mc_result_free(&r);
    }
    fair_free(&p);
    return e;
}

/* An optimisation: parameters {"input", "iterations", "seed", "frontier", "frontier_iterations"}.
 * An input the optimiser refuses or finds infeasible fails the run with the reason. */
static int optimize(const json_t *params, int threads, const atomic_bool *stopping, char **results,
                    char *msg, size_t msglen)
{
    struct opt_problem pb;
    int e = opt_parse(json_object_get(params, "input"), &pb, msg, msglen);
    if (!e) {
        const char *seed_s = json_string_value(json_object_get(params, "seed"));
        struct opt_run_opts o = {
            .iterations = (uint64_t)json_integer_value(json_object_get(params, "iterations")),
            .seed = seed_s ? strtoull(seed_s, NULL, 10) : 0,
            .threads = threads,
            .frontier = (int)json_integer_value(json_object_get(params, "frontier")),
            .frontier_iterations =
                (uint64_t)json_integer_value(json_object_get(params, "frontier_iterations")),
            .yearly_budget = -1,
            .cancel = stopping,
        };
        json_t *res = opt_run(&pb, &o, &e, msg, msglen);
        if (!e)
            e = render(res, results, msg, msglen);
    }
    opt_free(&pb);
    return e;
}

static const struct run_kind SIM = {"simulation", store_simrun_get, store_simrun_start,
                                    store_simrun_finish, simulate};
static const struct run_kind OPT = {"optimisation", store_optrun_get, store_optrun_start,
                                    store_optrun_finish, optimize};

int sim_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    return run_job(&SIM, ctx, payload, result, err);
}

int opt_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    return run_job(&OPT, ctx, payload, result, err);
}

const struct job_kind sim_job_kinds[] = {{SIM_JOB_KIND, sim_job}, {OPT_JOB_KIND, opt_job}};
const size_t sim_job_nkinds = 2;
