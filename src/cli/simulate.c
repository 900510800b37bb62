/*
 * aegis simulate FILE [--iterations N] [--seed S] [--semantics compound|product] [--threads N]
 *                [--format table|json|csv] [--lec FILE.csv]
 * Runs the FAIR Monte Carlo engine on a scenario file (YAML or JSON; docs/scenarios.md) without a server.
 */
#include "cli/cli.h"

#include "core/crypto.h"
#include "core/err.h"
#include "core/fmt.h"
#include "core/yaml.h"
#include "risk/mc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: aegis simulate FILE [--iterations N] [--seed S] [--semantics "
                    "compound|product]\n"
                    "                       [--threads N] [--format table|json|csv] [--lec FILE.csv]\n");
    return CLI_USAGE;
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

struct bar {
    struct timespec t0;
    bool shown;
};

static void progress(uint64_t done, uint64_t total, void *arg)
{
    struct bar *b = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double el = (double)(now.tv_sec - b->t0.tv_sec) + (double)(now.tv_nsec - b->t0.tv_nsec) / 1e9;
    if (el < 1.0 && !b->shown)
        return; /* quick runs stay quiet */
    b->shown = true;
    int width = 40, fill = (int)((double)done / (double)total * width);
    fprintf(stderr, "\r[%.*s%*s] %3d%%  %.1f s", fill, "########################################",
            width - fill, "", (int)(100.0 * (double)done / (double)total), el);
    fflush(stderr);
}


static void print_table(const struct mc_result *r, const struct fair_portfolio *p)
{
    char a[48], b[48], c[48], d[48];
    const struct mc_summary *s = &r->portfolio;
    printf("%s: %" PRIu64 " simulated years, %s semantics, seed %" PRIu64 ", %d thread(s), %.2f s\n\n",
           p->name, r->iterations, r->semantics == MC_COMPOUND ? "compound" : "product", r->seed,
           r->threads, r->seconds);
    printf("annual loss      mean %s (sd %s, standard error %s)\n", fmt_money(s->mean, a, sizeof a),
           fmt_money(s->sd, b, sizeof b), fmt_money(s->sem, c, sizeof c));
    printf("                 min %s  max %s  P(no loss) %.4f\n", fmt_money(s->min, a, sizeof a),
           fmt_money(s->max, b, sizeof b), s->p_zero);
    printf("percentiles     ");
    for (int i = 0; i < MC_NPCT; i++)
        printf(" p%g %s%s", mc_percentiles[i], fmt_money(s->pct[i], a, sizeof a),
               i == 5 ? "\n                " : "");
    printf("\nVaR              95%% %s  99%% %s\n", fmt_money(s->var95, a, sizeof a),
           fmt_money(s->var99, b, sizeof b));
    printf("TVaR             95%% %s  99%% %s\n", fmt_money(s->tvar95, a, sizeof a),
           fmt_money(s->tvar99, b, sizeof b));
    for (size_t t = 0; t < r->nthresholds; t++)
        printf("P(loss > %s) = %.4f\n", fmt_money(r->thresholds[t], a, sizeof a), s->p_exceed[t]);
    if (r->semantics == MC_COMPOUND)
        printf("loss events      mean %.3f a year (sd %.3f, max %" PRIu64 "), P(none) %.4f\n",
               s->events_mean, s->events_sd, s->events_max, s->events_p_zero);
    printf("\n%-28s %16s %16s %16s %16s %8s %8s\n", "scenario", "mean", "p90", "VaR 99", "TVaR 99",
           "mean %", "tail %");
    for (size_t i = 0; i < r->n; i++) {
        const struct mc_summary *x = &r->scenario[i];
        printf("%-28.28s %16s %16s %16s %16s %7.1f%% %7.1f%%\n", p->s[i].name,
               fmt_money(x->mean, a, sizeof a), fmt_money(x->pct[6], b, sizeof b),
               fmt_money(x->var99, c, sizeof c), fmt_money(x->tvar99, d, sizeof d),
               s->mean > 0 ? 100 * r->contrib_mean[i] / s->mean : 0,
               s->tvar99 > 0 ? 100 * r->contrib_tvar99[i] / s->tvar99 : 0);
    }
}

static void print_csv(const struct mc_result *r, const struct fair_portfolio *p)
{
    printf("name,mean,sd,sem,min,max");
    for (int i = 0; i < MC_NPCT; i++)
        printf(",p%g", mc_percentiles[i]);
    printf(",var95,var99,tvar95,tvar99,p_zero_loss,contribution_mean,contribution_tvar99\n");
    for (size_t k = 0; k <= r->n; k++) {
        const struct mc_summary *s = k < r->n ? &r->scenario[k] : &r->portfolio;
        const char *name = k < r->n ? p->s[k].name : "(portfolio)";
        printf("\"");
        for (const char *c = name; *c; c++)
            printf(*c == '"' ? "\"\"" : "%c", *c);
        printf("\",%.6f,%.6f,%.6f,%.6f,%.6f", s->mean, s->sd, s->sem, s->min, s->max);
        for (int i = 0; i < MC_NPCT; i++)
            printf(",%.6f", s->pct[i]);
        printf(",%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f\n", s->var95, s->var99, s->tvar95, s->tvar99,
               s->p_zero, k < r->n ? r->contrib_mean[k] : s->mean,
               k < r->n ? r->contrib_tvar99[k] : s->tvar99);
    }
}

int cli_simulate(int argc, char **argv)
{
    const char *file = NULL, *format = "table", *lec = NULL;
    uint64_t iterations = 100000, seed = 0, threads = 0;
    bool seeded = false;
    enum mc_semantics sem = MC_COMPOUND;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--iterations")) {
            if (!parse_u64(v, 1, (uint64_t)1 << 34, &iterations)) {
                fprintf(stderr, "aegis: --iterations must be an integer from 1 to %llu\n",
                        1ULL << 34);
                return CLI_USAGE;
            }
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (!parse_u64(v, 0, UINT64_MAX, &seed)) {
                fprintf(stderr, "aegis: --seed must be a non-negative integer\n");
                return CLI_USAGE;
            }
            seeded = true;
            i++;
        } else if (!strcmp(a, "--threads")) {
            if (!parse_u64(v, 1, 256, &threads)) {
                fprintf(stderr, "aegis: --threads must be an integer from 1 to 256\n");
                return CLI_USAGE;
            }
            i++;
        } else if (!strcmp(a, "--semantics")) {
            if (!v || (strcmp(v, "compound") && strcmp(v, "product"))) {
                fprintf(stderr, "aegis: --semantics must be compound or product\n");
                return CLI_USAGE;
            }
            sem = !strcmp(v, "compound") ? MC_COMPOUND : MC_PRODUCT;
            i++;
        } else if (!strcmp(a, "--format")) {
            if (!v || (strcmp(v, "table") && strcmp(v, "json") && strcmp(v, "csv"))) {
                fprintf(stderr, "aegis: --format must be table, json or csv\n");
                return CLI_USAGE;
            }
            format = v;
            i++;
        } else if (!strcmp(a, "--lec")) {
            if (!v)
                return usage();
            lec = v;
            i++;
        } else if (a[0] == '-' || file) {
            return usage();
        } else {
            file = a;
        }
    }
    if (!file)
        return usage();
    if (!seeded)
        crypto_random(&seed, sizeof seed);
    if (!threads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (uint64_t)cpus : 1;
    }

    char err[512];
    json_t *doc = NULL;
    if (yaml_parse_file(file, &doc, err, sizeof err)) {
        fprintf(stderr, "aegis: %s\n", err);
        return CLI_USAGE;
    }
    struct fair_portfolio p;
    int rc = fair_parse(doc, &p, err, sizeof err);
    json_decref(doc);
    if (rc) {
        fprintf(stderr, "aegis: %s: %s\n", file, err);
        fair_free(&p);
        return CLI_USAGE;
    }
    struct bar bar = {.shown = false};
    clock_gettime(CLOCK_MONOTONIC, &bar.t0);
    struct mc_opts o = {.iterations = iterations, .seed = seed, .semantics = sem,
                        .threads = (int)threads,
                        .progress = isatty(2) ? progress : NULL, .progress_arg = &bar};
    struct mc_result r;
    rc = mc_run(&p, &o, &r, err, sizeof err);
    if (bar.shown)
        fprintf(stderr, "\n");
    if (rc) {
        fprintf(stderr, "aegis: %s: %s\n", file, err);
        mc_result_free(&r);
        fair_free(&p);
        return CLI_USAGE;
    }
    int exit_code = CLI_OK;
    if (lec) {
        FILE *f = fopen(lec, "w");
        if (!f) {
            fprintf(stderr, "aegis: cannot write %s: %s\n", lec, strerror(errno));
            exit_code = CLI_FAIL;
        } else {
            fprintf(f, "loss,p_exceed\n");
            for (size_t i = 0; i < r.nlec; i++)
                fprintf(f, "%.6f,%.8f\n", r.lec_x[i], r.lec_p[i]);
            if (fclose(f) != 0) {
                fprintf(stderr, "aegis: cannot write %s\n", lec);
                exit_code = CLI_FAIL;
            }
        }
    }
    if (!strcmp(format, "json")) {
        json_t *j = mc_result_json(&r, &p);
        char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
        if (text) {
            printf("%s\n", text);
        } else {
            fprintf(stderr, "aegis: the results could not be rendered as JSON\n");
            exit_code = CLI_FAIL;
        }
        free(text);
        json_decref(j);
    } else if (!strcmp(format, "csv")) {
        print_csv(&r, &p);
    } else {
        print_table(&r, &p);
    }
    mc_result_free(&r);
    fair_free(&p);
    return exit_code;
}
