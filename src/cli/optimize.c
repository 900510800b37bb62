/*
 * aegis optimize FILE|template:NAME [--budget N] [--yearly-budget N] [--objective OBJ]
 *                [--target-loss N] [--frontier N] [--iterations N] [--seed S] [--threads N]
 *                [--format table|json]
 * Chooses security controls for an optimisation input (docs/controls.md) and re-checks the choice
 * by simulation, without a server. template:NAME uses a compiled-in template
 * (data/templates/NAME.yaml).
 */
#include "cli/cli.h"

#include "core/err.h"
#include "core/fmt.h"
#include "core/yaml.h"
#include "risk/opt.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr,
            "usage: aegis optimize FILE|template:NAME [--budget N] [--yearly-budget N]\n"
            "                      [--objective min_total_cost|max_reduction|min_spend] "
            "[--target-loss N]\n"
            "                      [--frontier N] [--iterations N] [--seed S] [--threads N] "
            "[--format table|json]\n"
            "templates:");
    for (const struct opt_data *d = opt_data; d->name; d++)
        if (!strncmp(d->name, "templates/", 10))
            fprintf(stderr, " %s", d->name + 10);
    fprintf(stderr, "\n");
    return CLI_USAGE;
}

static bool parse_amount(const char *s, double *out)
{
    char *end;
    errno = 0;
    if (!s)
        return false;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0) || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* The number at a dotted path ("baseline.mean"), or NAN. */
static double num(const json_t *o, const char *path)
{
    const json_t *v = o;
    while (v && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        char key[64];
        snprintf(key, sizeof key, "%.*s", (int)n, path);
        v = json_object_get(v, key);
        path += n + (dot ? 1 : 0);
    }
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void print_table(const json_t *r)
{
    char a[48], b[48], c[48], d[48];
    const json_t *sol = json_object_get(r, "solution"), *rc = json_object_get(r, "recheck");
    printf("%s: objective %s\n\n", json_string_value(json_object_get(r, "name")),
           json_string_value(json_object_get(r, "objective")));
    printf("%-28s %-40s %12s %12s\n", "chosen control", "name", "one-off", "a year");
    const json_t *ctl = json_object_get(sol, "controls");
    size_t i;
    const json_t *x;
    json_array_foreach(ctl, i, x)
    {
        printf("%-28.28s %-40.40s %12s %12s\n", json_string_value(json_object_get(x, "id")),
               json_string_value(json_object_get(x, "name")),
               fmt_money(num(x, "one_off"), a, sizeof a),
               fmt_money(num(x, "annual_cost"), b, sizeof b));
    }
    if (!json_array_size(ctl))
        printf("(none: no control pays for itself under this objective and these budgets)\n");
    printf("\ncost             %s a year (annualised), %s one-off\n",
           fmt_money(num(sol, "annual_cost"), a, sizeof a),
           fmt_money(num(sol, "one_off"), b, sizeof b));
    printf("expected loss    %s a year, from %s (model); optimality gap %.2g, %d rounds%s\n",
           fmt_money(num(sol, "expected_loss"), a, sizeof a),
           fmt_money(num(sol, "baseline_expected_loss"), b, sizeof b), num(sol, "optimality_gap"),
           (int)num(sol, "rounds"),
           json_is_true(json_object_get(sol, "time_limited")) ? " (stopped at the time limit)"
                                                              : "");
    printf("\nre-check         %lld simulated years, seed %s, the same years for both\n",
           (long long)num(rc, "iterations"), json_string_value(json_object_get(rc, "seed")));
    printf("                 %16s %16s %16s\n", "mean", "VaR 95", "VaR 99");
    printf("baseline         %16s %16s %16s\n", fmt_money(num(rc, "baseline.mean"), a, sizeof a),
           fmt_money(num(rc, "baseline.var95"), b, sizeof b),
           fmt_money(num(rc, "baseline.var99"), c, sizeof c));
    printf("with the choice  %16s %16s %16s\n", fmt_money(num(rc, "chosen.mean"), a, sizeof a),
           fmt_money(num(rc, "chosen.var95"), b, sizeof b),
           fmt_money(num(rc, "chosen.var99"), c, sizeof c));
    printf("risk reduction   %s a year", fmt_money(num(rc, "risk_reduction"), a, sizeof a));
    double rosi = num(rc, "rosi"), pay = num(rc, "payback_years");
    if (isfinite(rosi))
        printf(", ROSI %.0f%%", 100 * rosi);
    if (isfinite(pay))
        printf(", payback %.1f years", pay);
    printf("\n");
    if (json_is_true(json_object_get(json_object_get(rc, "gordon_loeb"), "exceeded")))
        printf(
            "Gordon-Loeb      the spend (%s a year) exceeds 1/e of the expected loss it protects "
            "(%s): rarely justified\n",
            fmt_money(num(rc, "gordon_loeb.spend"), a, sizeof a),
            fmt_money(num(rc, "gordon_loeb.limit"), b, sizeof b));
    const json_t *fr = json_object_get(r, "frontier");
    if (fr) {
        printf("\n%12s %14s %16s %16s  controls\n", "budget", "spend", "expected loss",
               "simulated mean");
        json_array_foreach(fr, i, x)
        {
            if (!json_is_true(json_object_get(x, "feasible"))) {
                printf("%12s  infeasible: %s\n", fmt_money(num(x, "budget"), a, sizeof a),
                       json_string_value(json_object_get(x, "reason")));
                continue;
            }
            printf("%12s %14s %16s %16s  ", fmt_money(num(x, "budget"), a, sizeof a),
                   fmt_money(num(x, "annual_cost"), b, sizeof b),
                   fmt_money(num(x, "expected_loss"), c, sizeof c),
                   fmt_money(num(x, "simulated.mean"), d, sizeof d));
            size_t k;
            const json_t *y;
            json_array_foreach(json_object_get(x, "controls"), k, y)
                printf("%s%s", k ? " " : "", json_string_value(json_object_get(y, "id")));
            printf("\n");
        }
    }
}

int cli_optimize(int argc, char **argv)
{
    const char *file = NULL, *format = "table", *objective = NULL;
    double budget = -1, yearly = -1, target = -1, iterations = 100000, seed = 1, threads = 0,
           frontier = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double *dst = !strcmp(a, "--budget")          ? &budget
                      : !strcmp(a, "--yearly-budget") ? &yearly
                      : !strcmp(a, "--target-loss")   ? &target
                      : !strcmp(a, "--iterations")    ? &iterations
                      : !strcmp(a, "--seed")          ? &seed
                      : !strcmp(a, "--threads")       ? &threads
                      : !strcmp(a, "--frontier")      ? &frontier
                                                      : NULL;
        if (dst) {
            if (!parse_amount(v, dst)) {
                fprintf(stderr, "aegis: %s needs a non-negative number\n", a);
                return CLI_USAGE;
            }
            i++;
        } else if (!strcmp(a, "--objective")) {
            if (!v)
                return usage();
            objective = v;
            i++;
        } else if (!strcmp(a, "--format")) {
            if (!v || (strcmp(v, "table") && strcmp(v, "json"))) {
                fprintf(stderr, "aegis: --format must be table or json\n");
                return CLI_USAGE;
            }
            format = v;
            i++;
        } else if (a[0] == '-' || file) {
            return usage();
        } else {
            file = a;
        }
    }
    if (!file)
        return usage();
    if (iterations < 100 || iterations > 1e9 || iterations != floor(iterations) || threads > 256 ||
        threads != floor(threads) || frontier > 200 || frontier != floor(frontier) ||
        seed > 1.8e19 || seed != floor(seed)) {
        fprintf(stderr, "aegis: --iterations must be an integer from 100 to 1e9, --threads at most "
                        "256, --frontier at most 200 points\n");
        return CLI_USAGE;
    }
    char err[512];
    json_t *doc = NULL;
    if (!strncmp(file, "template:", 9)) {
        char name[128];
        snprintf(name, sizeof name, "templates/%s", file + 9);
        for (const struct opt_data *d = opt_data; d->name && !doc; d++)
            if (!strcmp(d->name, name) &&
                yaml_parse(d->yaml, strlen(d->yaml), &doc, err, sizeof err))
                doc = NULL;
        if (!doc) {
            fprintf(stderr, "aegis: no template named %s\n", file + 9);
            return usage();
        }
    } else if (yaml_parse_file(file, &doc, err, sizeof err)) {
        fprintf(stderr, "aegis: %s\n", err);
        return CLI_USAGE;
    }
    if (objective)
        json_object_set_new(doc, "objective", json_string(objective));
    if (target >= 0)
        json_object_set_new(doc, "target_loss", json_real(target));
    if (budget >= 0 || yearly >= 0) {
        json_t *b = json_object_get(doc, "budget");
        if (!json_is_object(b)) {
            b = json_object();
            json_object_set_new(doc, "budget", b);
        }
        if (budget >= 0)
            json_object_set_new(b, "one_off", json_real(budget));
        if (yearly >= 0)
            json_object_set_new(b, "yearly", json_real(yearly));
    }
    struct opt_problem pb;
    int rc = opt_parse(doc, &pb, err, sizeof err);
    json_decref(doc);
    if (rc) {
        fprintf(stderr, "aegis: %s: %s\n", file, err);
        opt_free(&pb);
        return CLI_USAGE;
    }
    struct opt_run_opts o = {.iterations = (uint64_t)iterations,
                             .seed = (uint64_t)seed,
                             .threads = threads > 0 ? (int)threads
                                                    : (int)(sysconf(_SC_NPROCESSORS_ONLN) > 0
                                                                ? sysconf(_SC_NPROCESSORS_ONLN)
                                                                : 1),
                             .frontier = (int)frontier,
                             .frontier_iterations = 100000,
                             .yearly_budget = -1};
    json_t *res = opt_run(&pb, &o, &rc, err, sizeof err);
    opt_free(&pb);
    if (!res) {
        fprintf(stderr, "aegis: %s: %s\n", file, err);
        return rc == AEG_EINVAL ? CLI_USAGE : CLI_FAIL;
    }
    if (!strcmp(format, "json")) {
        char *text = json_dumps(res, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
        printf("%s\n", text ? text : "null");
        free(text);
    } else {
        print_table(res);
    }
    json_decref(res);
    return CLI_OK;
}
