/*
 * ops: liveness, readiness, metrics, the OpenAPI document and the API reference page.
 */
#include "api/api.h"

#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int api_healthz(struct http_req *r)
{
    static const char body[] = "{\"status\":\"ok\"}";
    return http_reply_data(r, 200, "application/json", body, sizeof body - 1);
}

int api_readyz(struct http_req *r)
{
    struct app *app = http_app(r);
    char err[256] = "";
    int rc = store_ping(app->store, err, sizeof err);
    if (rc)
        return http_fail(r, AEG_EUNAVAIL, "Not ready: %s.", err);
    struct migrate_status st;
    rc = store_migrate_status(app->store, &st, err, sizeof err);
    if (rc)
        return http_fail(r, AEG_EUNAVAIL, "Not ready: %s.", err);
    if (st.mismatched)
        return http_fail(r, AEG_EUNAVAIL, "Not ready: %s.", err);
    if (st.pending)
        return http_fail(r, AEG_EUNAVAIL,
                         "Not ready: %d migration(s) pending (schema at %d, binary at %d); run "
                         "`aegis migrate`.",
                         st.pending, st.current, st.latest);
    return http_reply_json(r, 200,
                           json_pack("{s:s,s:s,s:{s:i,s:i,s:i}}", "status", "ready", "database",
                                     "ok", "migrations", "current", st.current, "latest",
                                     st.latest, "pending", st.pending));
}

int api_metrics(struct http_req *r)
{
    struct app *app = http_app(r);
    struct buf b;
    buf_init(&b, BUF_CAP_DOC);
    http_server_metrics(app->http, &b);

    int64_t counts[JOB__NSTATES];
    if (store_job_counts(app->store, counts) == AEG_OK) {
        buf_adds(&b, "# HELP aegis_jobs Jobs in the queue by state.\n# TYPE aegis_jobs gauge\n");
        for (int i = 0; i < JOB__NSTATES; i++)
            buf_printf(&b, "aegis_jobs{state=\"%s\"} %lld\n", job_state_name((enum job_state)i),
                       (long long)counts[i]);
    }
    buf_printf(&b,
               "# HELP aegis_jobs_running_here Jobs running in this process.\n"
               "# TYPE aegis_jobs_running_here gauge\naegis_jobs_running_here %d\n"
               "# HELP aegis_http_in_flight Requests being processed.\n"
               "# TYPE aegis_http_in_flight gauge\naegis_http_in_flight %d\n"
               "# HELP aegis_build_info Build of this binary.\n"
               "# TYPE aegis_build_info gauge\n"
               "aegis_build_info{version=\"%s\",commit=\"%s\",compiler=\"gcc %s\"} 1\n"
               "# HELP aegis_start_time_seconds When this process started (Unix time).\n"
               "# TYPE aegis_start_time_seconds gauge\naegis_start_time_seconds %.3f\n",
               app->jobs ? job_pool_running(app->jobs) : 0, http_server_in_flight(app->http),
               AEGIS_VERSION, AEGIS_COMMIT, __VERSION__, (double)app->started_ms / 1000.0);
    return http_reply_buf(r, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}

int api_openapi_json(struct http_req *r)
{
    struct app *app = http_app(r);
    return http_reply_data(r, 200, "application/json", app->openapi, strlen(app->openapi));
}

/* The page is ours (web/docs/); Swagger UI's assets come from the npm package swagger-ui-dist,
 * installed by scripts/install-deps.sh into web/node_modules and served from disk (no CDN). */
static const char *swagger_dir = "node_modules/swagger-ui-dist";

static int docs_path(const struct app *app, const char *dir, const char *file, char *out,
                     size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s/%s", app->cfg->web_dir, dir, file);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int api_docs_page(struct http_req *r)
{
    struct app *app = http_app(r);
    char bundle[1024], page[1024];
    if (docs_path(app, swagger_dir, "swagger-ui-bundle.js", bundle, sizeof bundle) ||
        access(bundle, R_OK) != 0)
        return http_fail(r, AEG_EUNAVAIL,
                         "The API reference assets are not installed: run scripts/install-deps.sh "
                         "(npm ci in %s). The document itself is at /openapi.json.",
                         app->cfg->web_dir);
    if (docs_path(app, "docs", "index.html", page, sizeof page))
        return AEG_ENOTFOUND;
    int rc = http_reply_file(r, page, "text/html; charset=utf-8", "no-cache");
    if (rc == AEG_ENOTFOUND)
        return http_fail(r, AEG_EUNAVAIL, "The API reference page is missing from %s/docs.",
                         app->cfg->web_dir);
    return rc;
}

static const char *media_type(const char *file)
{
    static const struct {
        const char *ext, *type;
    } types[] = {{".js", "text/javascript; charset=utf-8"},
                 {".css", "text/css; charset=utf-8"},
                 {".png", "image/png"},
                 {".html", "text/html; charset=utf-8"},
                 {".map", "application/json"}};
    const char *dot = strrchr(file, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

int api_docs_asset(struct http_req *r)
{
    struct app *app = http_app(r);
    const char *file = http_param(r, "file");
    /* A plain file name: no directories, no dot files, only known types. */
    bool ok = file && file[0] != '.' && strlen(file) < 128 && media_type(file);
    for (const char *p = file; ok && *p; p++)
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '-' || *p == '_' || *p == '.';
    if (!ok)
        return http_fail(r, AEG_ENOTFOUND, "No such asset.");
    char path[1024];
    if (!docs_path(app, "docs", file, path, sizeof path) &&
        http_reply_file(r, path, media_type(file), "no-cache") == AEG_OK)
        return AEG_OK;
    if (!docs_path(app, swagger_dir, file, path, sizeof path) &&
        http_reply_file(r, path, media_type(file), "public, max-age=86400") == AEG_OK)
        return AEG_OK;
    return http_fail(r, AEG_ENOTFOUND, "No such asset.");
}
