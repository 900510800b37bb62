/*
 * builtin: diagnostic job kinds, so an operator (and the tests) can exercise the queue end to end.
 *   diag.sleep {"ms": N}                   sleeps N ms (at most 10 minutes), result {"slept_ms", "attempt"}
 *   diag.fail  {"succeed_on_attempt": K}   fails until attempt K (0: always), result {"attempt"}
 */
#include "jobs/jobs.h"

#include "core/clock.h"
#include "core/err.h"

static int diag_sleep(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    json_t *ms = json_object_get(payload, "ms");
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 || json_integer_value(ms) > 600000) {
        buf_adds(err, "payload.ms must be an integer from 0 to 600000");
        return AEG_EINVAL;
    }
    clock_sleep_ms(json_integer_value(ms));
    *result = json_pack("{s:I,s:i}", "slept_ms", (json_int_t)json_integer_value(ms), "attempt",
                        ctx->job->attempts);
    return AEG_OK;
}

static int diag_fail(struct job_ctx *ctx, const json_t *payload, json_t **result, struct buf *err)
{
    json_int_t k = json_integer_value(json_object_get(payload, "succeed_on_attempt"));
    if (k > 0 && ctx->job->attempts >= k) {
        *result = json_pack("{s:i}", "attempt", ctx->job->attempts);
        return AEG_OK;
    }
    buf_printf(err, "diag.fail: failing attempt %d on purpose", ctx->job->attempts);
    return AEG_EINTERNAL;
}

const struct job_kind job_builtin_kinds[] = {
    {"diag.sleep", diag_sleep},
    {"diag.fail", diag_fail},
};
const size_t job_builtin_nkinds = sizeof job_builtin_kinds / sizeof job_builtin_kinds[0];
