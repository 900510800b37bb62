/*
 * diag: diagnostic routes, mounted outside production only (AEGIS_DIAG_ROUTES).
 */
#include "api/api.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"

#include <errno.h>
#include <stdlib.h>

int api_diag_echo(struct http_req *r)
{
    const char *d = http_query(r, "delay_ms");
    if (d) {
        char *end;
        errno = 0;
        long ms = strtol(d, &end, 10);
        if (errno || end == d || *end || ms < 0 || ms > 10000)
            return http_fail(r, AEG_EINVAL, "delay_ms must be an integer from 0 to 10000.");
        log_msg(LOG_DEBUG, "diag.echo.delay", "holding request %s for %ld ms", http_request_id(r),
                ms);
        clock_sleep_ms(ms);
    }
    return http_reply_json(r, 200,
                           json_pack("{s:s,s:O}", "request_id", http_request_id(r), "received",
                                     http_json(r)));
}
