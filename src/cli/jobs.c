/*
 * aegis jobs enqueue KIND [PAYLOAD_JSON] [--max-attempts N]
 * aegis jobs list [--state queued|running|done|dead] [--limit N]
 * aegis jobs show ID
 * Operator commands on the job queue of the configured database (a running server picks enqueued jobs
 * up at its next poll).
 */
#include "cli/cli.h"

#include "core/clock.h"
#include "core/err.h"
#include "core/json.h"
#include "jobs/jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: aegis jobs enqueue KIND [PAYLOAD_JSON] [--max-attempts N]\n"
                    "       aegis jobs list [--state queued|running|done|dead] [--limit N]\n"
                    "       aegis jobs show ID\n");
    return CLI_USAGE;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static json_t *row_json(const struct job_row *j)
{
    char c[CLOCK_ISO_LEN], u[CLOCK_ISO_LEN], r[CLOCK_ISO_LEN];
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:s}", "id", j->id, "kind", j->kind, "state",
                          job_state_name(j->state), "attempts", j->attempts, "max_attempts",
                          j->max_attempts, "created_at", clock_fmt_iso(j->created_at, c),
                          "updated_at", clock_fmt_iso(j->updated_at, u));
    json_object_set_new(o, "org_id", j->org_id ? json_string(j->org_id) : json_null());
    json_object_set_new(o, "run_at", json_string(clock_fmt_iso(j->run_at, r)));
    json_error_t e;
    json_t *p = json_loads(j->payload ? j->payload : "{}", JSON_DECODE_ANY, &e);
    json_object_set_new(o, "payload", p ? p : json_string(j->payload));
    json_t *res = j->result ? json_loads(j->result, JSON_DECODE_ANY, &e) : NULL;
    json_object_set_new(o, "result", res ? res : json_null());
    json_object_set_new(o, "last_error", j->last_error ? json_string(j->last_error) : json_null());
    if (j->completed_at)
        json_object_set_new(o, "completed_at", json_string(clock_fmt_iso(j->completed_at, c)));
    return o;
}

static void print_row(const struct job_row *j, void *arg)
{
    (void)arg;
    char c[CLOCK_ISO_LEN];
    printf("%s  %-8s  %-16s  attempts %d/%d  created %s%s%s\n", j->id, job_state_name(j->state),
           j->kind, j->attempts, j->max_attempts, clock_fmt_iso(j->created_at, c),
           j->last_error ? "  error: " : "", j->last_error ? j->last_error : "");
}

int cli_jobs(int argc, char **argv)
{
    if (argc < 1)
        return usage();
    const char *sub = argv[0];
    struct cfg c;
    struct store *s = NULL;
    int rc = cli_load_cfg(&c, true);
    if (rc)
        goto out;
    /* Arguments are checked before the database is opened: a usage error is a usage error. */

    if (!strcmp(sub, "enqueue")) {
        const char *kind = NULL, *payload = "{}";
        long attempts = c.job_max_attempts;
        for (int i = 1; i < argc; i++) {
            if (cli_is(argv[i], "--max-attempts", NULL) && i + 1 < argc) {
                if (!parse_int(argv[++i], 1, 100, &attempts)) {
                    fprintf(stderr, "aegis: --max-attempts must be 1..100\n");
                    rc = CLI_USAGE;
                    goto out;
                }
            } else if (!kind) {
                kind = argv[i];
            } else {
                payload = argv[i];
            }
        }
        if (!kind) {
            rc = usage();
            goto out;
        }
        json_t *p = NULL;
        char detail[300];
        if (json_parse(payload, strlen(payload), &p, detail, sizeof detail) || !json_is_object(p)) {
            fprintf(stderr, "aegis: payload must be a JSON object%s%s\n", p ? "" : ": ",
                    p ? "" : detail);
            json_decref(p);
            rc = CLI_USAGE;
            goto out;
        }
        if ((rc = cli_open_store(&c, 1, true, &s))) {
            json_decref(p);
            goto out;
        }
        char id[ID_UUID_LEN];
        int e = job_enqueue(s, NULL, kind, p, (int)attempts, id);
        json_decref(p);
        if (e) {
            fprintf(stderr, "aegis: cannot enqueue: %s\n", aeg_code_message(e));
            rc = CLI_FAIL;
            goto out;
        }
        printf("%s\n", id);
    } else if (!strcmp(sub, "list")) {
        long limit = 50;
        int state = -1;
        for (int i = 1; i < argc; i++) {
            if (cli_is(argv[i], "--state", NULL) && i + 1 < argc) {
                state = job_state_parse(argv[++i]);
                if (state < 0) {
                    rc = usage();
                    goto out;
                }
            } else if (cli_is(argv[i], "--limit", NULL) && i + 1 < argc) {
                if (!parse_int(argv[++i], 1, 10000, &limit)) {
                    rc = usage();
                    goto out;
                }
            } else {
                rc = usage();
                goto out;
            }
        }
        if ((rc = cli_open_store(&c, 1, true, &s)))
            goto out;
        if (store_job_list(s, state, (int)limit, print_row, NULL)) {
            fprintf(stderr, "aegis: cannot list jobs\n");
            rc = CLI_FAIL;
        }
    } else if (!strcmp(sub, "show") && argc == 2) {
        if ((rc = cli_open_store(&c, 1, true, &s)))
            goto out;
        struct job_row j;
        int e = store_job_get(s, NULL, argv[1], &j);
        if (e) {
            fprintf(stderr, "aegis: job %s: %s\n", argv[1],
                    e == AEG_ENOTFOUND ? "no such job" : aeg_code_message(e));
            rc = CLI_FAIL;
            goto out;
        }
        json_t *o = row_json(&j);
        char *text = json_dumps(o, JSON_INDENT(2));
        printf("%s\n", text);
        free(text);
        json_decref(o);
        job_row_free(&j);
    } else {
        rc = usage();
    }
out:
    store_close(s);
    cfg_free(&c);
    return rc;
}
