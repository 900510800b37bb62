/*
 * http_int.h: internals shared by the files of src/http only.
 */
#ifndef AEGIS_HTTP_INT_H
#define AEGIS_HTTP_INT_H

#include "http/http.h"

#include <stdatomic.h>

#define METRIC_BUCKETS 14
#define METRIC_STATUS_MIN 100
#define METRIC_STATUS_N 500 /* statuses 100..599 */

/* Per route (plus one row for requests that matched no route): counts by exact status, a latency
 * histogram and its sum. Lock-free: relaxed atomics, read for /metrics without stopping traffic. */
struct route_metrics {
    atomic_ulong status[METRIC_STATUS_N];
    atomic_ulong bucket[METRIC_BUCKETS + 1]; /* the last is +Inf */
    atomic_ulong sum_us;
};

struct http_metrics {
    struct route_metrics *rows; /* nroutes + 1 */
    size_t nroutes;
};

void http_metrics_init(struct http_metrics *m, size_t nroutes);
void http_metrics_free(struct http_metrics *m);
void http_metrics_record(struct http_metrics *m, int route_idx, int status, uint64_t ns);
void http_metrics_render(const struct http_metrics *m, const struct route *routes, size_t n,
                         struct buf *out);

#endif
