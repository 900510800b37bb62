/*
 * metrics: request counters and latency histograms per route, rendered in the Prometheus text format.
 */
#include "http/http_int.h"

#include "core/alloc.h"

#include <stdlib.h>

static const double bounds_s[METRIC_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                0.1,    0.25,  0.5,    1,     2.5,  5,    10};

void http_metrics_init(struct http_metrics *m, size_t nroutes)
{
    m->nroutes = nroutes;
    m->rows = xcalloc(nroutes + 1, sizeof *m->rows);
}

void http_metrics_free(struct http_metrics *m)
{
    free(m->rows);
    m->rows = NULL;
}

void http_metrics_record(struct http_metrics *m, int route_idx, int status, uint64_t ns)
{
    struct route_metrics *row =
        &m->rows[route_idx >= 0 && (size_t)route_idx < m->nroutes ? (size_t)route_idx : m->nroutes];
    if (status >= METRIC_STATUS_MIN && status < METRIC_STATUS_MIN + METRIC_STATUS_N)
        atomic_fetch_add_explicit(&row->status[status - METRIC_STATUS_MIN], 1, memory_order_relaxed);
    double s = (double)ns / 1e9;
    int b = 0;
    while (b < METRIC_BUCKETS && s > bounds_s[b])
        b++;
    atomic_fetch_add_explicit(&row->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&row->sum_us, ns / 1000, memory_order_relaxed);
}

void http_metrics_render(const struct http_metrics *m, const struct route *routes, size_t n,
                         struct buf *out)
{
    buf_adds(out, "# HELP aegis_http_requests_total HTTP requests by route, method and status.\n"
                  "# TYPE aegis_http_requests_total counter\n");
    for (size_t i = 0; i <= n; i++) {
        const struct route_metrics *row = &m->rows[i];
        const char *route = i < n ? routes[i].pattern : "unmatched";
        const char *method = i < n ? routes[i].method : "";
        for (int st = 0; st < METRIC_STATUS_N; st++) {
            unsigned long c = atomic_load_explicit(&row->status[st], memory_order_relaxed);
            if (c)
                buf_printf(out,
                           "aegis_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} "
                           "%lu\n",
                           route, method, st + METRIC_STATUS_MIN, c);
        }
    }
    buf_adds(out, "# HELP aegis_http_request_duration_seconds Time from request headers to the "
                  "end of the response, by route.\n"
                  "# TYPE aegis_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i <= n; i++) {
        const struct route_metrics *row = &m->rows[i];
        unsigned long total = 0;
        for (int b = 0; b <= METRIC_BUCKETS; b++)
            total += atomic_load_explicit(&row->bucket[b], memory_order_relaxed);
        if (!total)
            continue;
        const char *route = i < n ? routes[i].pattern : "unmatched";
        const char *method = i < n ? routes[i].method : "";
        unsigned long cum = 0;
        for (int b = 0; b <= METRIC_BUCKETS; b++) {
            cum += atomic_load_explicit(&row->bucket[b], memory_order_relaxed);
            if (b < METRIC_BUCKETS)
                buf_printf(out,
                           "aegis_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                           "le=\"%g\"} %lu\n",
                           route, method, bounds_s[b], cum);
            else
                buf_printf(out,
                           "aegis_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\","
                           "le=\"+Inf\"} %lu\n",
                           route, method, cum);
        }
        buf_printf(out,
                   "aegis_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n"
                   "aegis_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %lu\n",
                   route, method,
                   (double)atomic_load_explicit(&row->sum_us, memory_order_relaxed) / 1e6, route,
                   method, cum);
    }
}
