#include "jobs/jobs.h"

#include "core/clock.h"
#include "core/err.h"

#include <stdlib.h>

int job_enqueue(struct store *s, const struct tenant *t, const char *kind, const json_t *payload,
                int max_attempts, char id_out[ID_UUID_LEN])
{
    char *text = payload ? json_dumps(payload, JSON_COMPACT) : NULL;
    int rc = store_job_insert(s, t, kind, text ? text : "{}", max_attempts > 0 ? max_attempts : 5,
                              clock_now_ms(), id_out);
    free(text);
    return rc;
}

int64_t job_backoff_ms(int attempts, int64_t base_ms, int64_t max_ms)
{
    int64_t d = base_ms;
    for (int i = 1; i < attempts && d < max_ms; i++)
        d = d > max_ms / 2 ? max_ms : d * 2; /* no overflow whatever max_ms is */
    return d < max_ms ? d : max_ms;
}
