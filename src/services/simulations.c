#include "services/simulations.h"

#include "core/clock.h"
#include "core/err.h"
#include "risk/mc.h"
#include "risk/opt.h"

#include <stdlib.h>
#include <string.h>

/* Runs one simulation from its stored parameters {"portfolio", "iterations", "seed", "semantics"}. */
int sim_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
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
    int rc = store_simrun_get(db, &t, run_id, &run);
    if (!rc)
        rc = store_simrun_start(db, &t, run_id, clock_now_ms());
    store_release(ctx->store, db);
    if (rc) {
        buf_printf(err, "simulation run %s: %s", run_id, aeg_code_message(rc));
        if (rc == AEG_ENOTFOUND)
            return AEG_EINVAL; /* nothing to retry: the run is gone */
        return rc;
    }

    char msg[512] = "";
    json_error_t je;
    json_t *params = json_loads(run.parameters, 0, &je);
    struct fair_portfolio p;
    memset(&p, 0, sizeof p);
    struct mc_result r;
    memset(&r, 0, sizeof r);
    int e = params ? fair_parse(json_object_get(params, "portfolio"), &p, msg, sizeof msg) : AEG_EJSON;
    if (!params)
        snprintf(msg, sizeof msg, "stored parameters are not JSON: %s", je.text);
    if (!e) {
        const char *seed_s = json_string_value(json_object_get(params, "seed"));
        const char *sem = json_string_value(json_object_get(params, "semantics"));
        struct mc_opts o = {
            .iterations = (uint64_t)json_integer_value(json_object_get(params, "iterations")),
            .seed = seed_s ? strtoull(seed_s, NULL, 10) : 0,
            .semantics = sem && !strcmp(sem, "product") ? MC_PRODUCT : MC_COMPOUND,
            .threads = threads > 0 ? (int)threads : 1,
            .cancel = ctx->stopping,
        };
        e = mc_run(&p, &o, &r, msg, sizeof msg);
    }
    if (e == AEG_EUNAVAIL) { /* the server is stopping: the job is retried, the run runs again */
        buf_adds(err, "cancelled by shutdown");
        mc_result_free(&r);
        fair_free(&p);
        json_decref(params);
        simrun_row_free(&run);
        return AEG_EUNAVAIL;
    }
    char *results = NULL;
    if (!e) {
        json_t *j = mc_result_json(&r, &p);
        results = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(j);
        if (!results) {
            e = AEG_EINTERNAL;
            snprintf(msg, sizeof msg, "the results could not be rendered as JSON");
        }
    }
    db = store_conn(ctx->store);
    rc = store_simrun_finish(db, &t, run_id, e ? "failed" : "done", results, e ? msg : NULL,
                             clock_now_ms());
    store_release(ctx->store, db);
    free(results);
    mc_result_free(&r);
    fair_free(&p);
    json_decref(params);
    simrun_row_free(&run);
    if (rc) {
        buf_printf(err, "simulation run %s: cannot store the outcome: %s", run_id,
                   aeg_code_message(rc));
        return rc;
    }
    /* A model the engine refuses is the run's outcome (status failed), not a job to retry. */
    *result = json_pack("{s:s,s:s}", "run_id", run_id, "status", e ? "failed" : "done");
    return AEG_OK;
}

/* Runs one optimisation from its stored parameters {"input", "iterations", "seed", "frontier",
 * "frontier_iterations"}. An input the optimiser refuses or finds infeasible fails the run with the
 * reason; the job itself succeeds (nothing to retry). */
int opt_job(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
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
    int rc = store_optrun_get(db, &t, run_id, &run);
    if (!rc)
        rc = store_optrun_start(db, &t, run_id, clock_now_ms());
    store_release(ctx->store, db);
    if (rc) {
        buf_printf(err, "optimisation run %s: %s", run_id, aeg_code_message(rc));
        return rc == AEG_ENOTFOUND ? AEG_EINVAL : rc;
    }
    char msg[512] = "";
    json_error_t je;
    json_t *params = json_loads(run.parameters, 0, &je), *res = NULL;
    struct opt_problem pb;
    memset(&pb, 0, sizeof pb);
    int e = params ? opt_parse(json_object_get(params, "input"), &pb, msg, sizeof msg) : AEG_EJSON;
    if (!params)
        snprintf(msg, sizeof msg, "stored parameters are not JSON: %s", je.text);
    if (!e) {
        const char *seed_s = json_string_value(json_object_get(params, "seed"));
        struct opt_run_opts o = {
            .iterations = (uint64_t)json_integer_value(json_object_get(params, "iterations")),
            .seed = seed_s ? strtoull(seed_s, NULL, 10) : 0,
            .threads = threads > 0 ? (int)threads : 1,
            .frontier = (int)json_integer_value(json_object_get(params, "frontier")),
            .frontier_iterations =
                (uint64_t)json_integer_value(json_object_get(params, "frontier_iterations")),
            .yearly_budget = -1,
            .cancel = ctx->stopping,
        };
        res = opt_run(&pb, &o, &e, msg, sizeof msg);
    }
    opt_free(&pb);
    json_decref(params);
    if (e == AEG_EUNAVAIL) { /* the server is stopping: the job is retried */
        buf_adds(err, "cancelled by shutdown");
        simrun_row_free(&run);
        return AEG_EUNAVAIL;
    }
    char *results = res ? json_dumps(res, JSON_COMPACT | JSON_REAL_PRECISION(17)) : NULL;
    json_decref(res);
    if (!e && !results) {
        e = AEG_EINTERNAL;
        snprintf(msg, sizeof msg, "the results could not be rendered as JSON");
    }
    db = store_conn(ctx->store);
    rc = store_optrun_finish(db, &t, run_id, e ? "failed" : "done", results, e ? msg : NULL,
                             clock_now_ms());
    store_release(ctx->store, db);
    free(results);
    simrun_row_free(&run);
    if (rc) {
        buf_printf(err, "optimisation run %s: cannot store the outcome: %s", run_id,
                   aeg_code_message(rc));
        return rc;
    }
    *result = json_pack("{s:s,s:s}", "run_id", run_id, "status", e ? "failed" : "done");
    return AEG_OK;
}

const struct job_kind sim_job_kinds[] = {{SIM_JOB_KIND, sim_job}, {OPT_JOB_KIND, opt_job}};
const size_t sim_job_nkinds = 2;
