/*
 * aegis serve: open the store (migrating unless AEGIS_MIGRATE_ON_START=false), start the job workers and
 * the HTTP server, then wait for SIGTERM or SIGINT. Shutdown is graceful: stop accepting, finish the
 * requests in flight, let running jobs finish (both bounded by AEGIS_SHUTDOWN_TIMEOUT), exit 0.
 */
#include "cli/cli.h"

#include "api/api.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/alloc.h"
#include "core/log.h"
#include "services/simulations.h"
#include "services/traces.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool cors_allows(void *app, const char *origin)
{
    return cfg_cors_allows(((struct app *)app)->cfg, origin);
}

static int open_access_log(const char *target)
{
    if (!strcmp(target, "stdout"))
        return 1;
    if (!strcmp(target, "stderr"))
        return 2;
    if (!strcmp(target, "off"))
        return -1;
    int fd = open(target, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        fprintf(stderr, "aegis: cannot open access log %s: %s\n", target, strerror(errno));
    return fd < 0 ? -2 : fd;
}

int cli_serve(int argc, char **argv)
{
    (void)argv;
    if (argc > 0) {
        fprintf(stderr, "usage: aegis serve   (configure with AEGIS_* variables; see .env.example)\n");
        return CLI_USAGE;
    }
    /* Signals are taken by sigwait below; every thread started from here inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct cfg c;
    struct app app = {.cfg = &c, .started_ms = clock_now_ms()};
    struct route *routes = NULL;
    int access_fd = -1;
    int rc = cli_load_cfg(&c, false);
    if (rc)
        goto out;
    access_fd = open_access_log(c.access_log);
    if (access_fd == -2) {
        rc = CLI_USAGE;
        goto out;
    }
    log_setup((enum log_level)log_level_parse(c.log_level), 2, access_fd);

    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = c.threads > 0 ? (int)c.threads : (int)(cpus > 0 ? cpus : 2);
    int pool = c.db_pool_size > 0 ? (int)c.db_pool_size : threads + (int)c.job_workers + 2;
    if ((rc = cli_open_store(&c, pool, false, &app.store)))
        goto out;

    char err[512] = "";
    if (c.migrate_on_start) {
        int applied = 0;
        if (store_migrate(app.store, &applied, err, sizeof err)) {
            log_msg(LOG_ERROR, "server.migrate_failed", "%s", err);
            fprintf(stderr, "aegis: %s\n", err);
            rc = CLI_FAIL;
            goto out;
        }
        if (applied)
            log_msg(LOG_INFO, "server.migrated", "applied %d migration(s)", applied);
    }

    /* every job kind this binary runs */
    size_t nkinds = job_builtin_nkinds + sim_job_nkinds + trace_job_nkinds;
    struct job_kind *kinds = xcalloc(nkinds, sizeof *kinds);
    memcpy(kinds, job_builtin_kinds, job_builtin_nkinds * sizeof *kinds);
    memcpy(kinds + job_builtin_nkinds, sim_job_kinds, sim_job_nkinds * sizeof *kinds);
    memcpy(kinds + job_builtin_nkinds + sim_job_nkinds, trace_job_kinds,
           trace_job_nkinds * sizeof *kinds);
    app.kinds = kinds;
    struct job_pool_opts jo = {
        .workers = (int)c.job_workers,
        .lease_ms = c.job_lease_seconds * 1000,
        .poll_ms = (int)c.job_poll_ms,
        .backoff_base_ms = c.job_backoff_base_ms,
        .backoff_max_ms = c.job_backoff_max_ms,
        .kinds = kinds,
        .nkinds = nkinds,
        .app = &app,
    };
    if (job_pool_start(app.store, &jo, &app.jobs)) {
        fprintf(stderr, "aegis: cannot start the job workers\n");
        rc = CLI_FAIL;
        goto out;
    }

    routes = api_routes(&c, &app.nroutes);
    app.routes = routes;
    json_t *doc = api_openapi(routes, app.nroutes);
    app.openapi = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);

    app.signup_rate = rate_new(c.signup_per_hour, 3600 * 1000);
    app.login_rate = c.login_failures_per_15min > 0 ? rate_new(c.login_failures_per_15min, 15 * 60 * 1000)
                                                    : rate_new(1L << 30, 1000);
    static const struct http_phase phases[] = {{"auth", api_phase_auth}};
    struct http_opts ho = {
        .host = c.host,
        .port = (int)c.port,
        .threads = threads,
        .body_limit = (size_t)c.body_limit,
        .conn_timeout_s = (int)c.conn_timeout,
        .request_timeout_s = (int)c.request_timeout,
        .max_connections = (int)c.max_connections,
        .per_ip_connections = (int)c.per_ip_connections,
        .routes = routes,
        .nroutes = app.nroutes,
        .phases = phases,
        .nphases = sizeof phases / sizeof phases[0],
        .cors_allows = cors_allows,
        .app = &app,
    };
    if (http_server_start(&ho, &app.http, err, sizeof err)) {
        log_msg(LOG_ERROR, "server.listen_failed", "%s", err);
        fprintf(stderr, "aegis: %s\n", err);
        job_pool_stop(app.jobs, 0);
        app.jobs = NULL;
        rc = CLI_FAIL;
        goto out;
    }
    log_json(LOG_INFO, "server.listening",
             json_pack("{s:s,s:i,s:s,s:i,s:i,s:s,s:s}", "host", c.host, "port",
                       http_server_port(app.http), "url_hint", "GET /healthz, /docs, /openapi.json",
                       "threads", threads, "job_workers", (int)c.job_workers, "env", c.env,
                       "version", AEGIS_VERSION));

    int sig = 0;
    while (sigwait(&sigs, &sig) != 0) {
    }
    log_msg(LOG_INFO, "server.stopping", "signal %d: draining requests and jobs", sig);
    uint64_t t0 = clock_mono_ns();
    int cut = http_server_stop(app.http, (int)c.shutdown_timeout);
    app.http = NULL;
    int spent = (int)((clock_mono_ns() - t0) / 1000000000u);
    int left = (int)c.shutdown_timeout - spent;
    bool jobs_done = job_pool_stop(app.jobs, left > 0 ? left : 0);
    app.jobs = NULL; /* freed, or (still running) left to the process exit */
    log_json(LOG_INFO, "server.stopped",
             json_pack("{s:i,s:b}", "requests_cut", cut, "jobs_drained", jobs_done));
    log_flush();
    rc = CLI_OK;
    if (!jobs_done)
        goto exit_now; /* worker threads still use the store: do not free it under them */
out:
    store_close(app.store);
    free(app.kinds); /* not on the exit_now path: workers still running may read it */
exit_now:
    rate_free(app.signup_rate);
    rate_free(app.login_rate);
    free(app.openapi);
    free(routes);
    cfg_free(&c);
    if (access_fd > 2)
        close(access_fd);
    return rc;
}
