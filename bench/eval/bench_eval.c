/*
 * bench_eval: Tier-1 throughput of each shipped domain spec on traces of about 1 KB.
 *
 * For every compiled-in domain it builds a pool of 64 traces (half written to pass, half to fail
 * the domain's constraints, about 1 KB each: see make_*) and evaluates them round-robin for
 * --seconds on one thread ("per core": eval_run alone on parsed traces, and the whole offline path:
 * JSON text -> eval_trace_parse -> eval_run -> eval_result_json -> text), then on --threads threads
 * sharing one compiled spec. Prints traces per second and microseconds per trace, against the
 * target of 20,000 traces/s per core, and writes one JSON line per domain to --json FILE when
 * given.
 */
#include "eval/eval.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POOL 64
#define TARGET_PER_CORE 20000.0

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Pads text with filler sentences up to about n bytes. */
static void pad(char *buf, size_t cap, const char *const *filler, size_t nfill, size_t n, int seed)
{
    size_t len = strlen(buf);
    for (int k = seed; len < n && len + 200 < cap; k++) {
        const char *f = filler[(size_t)k % nfill];
        len += (size_t)snprintf(buf + len, cap - len, " %s", f);
    }
}

static json_t *make_healthcare(int i)
{
    static const char *const filler[] = {
        "Most seasonal colds improve within seven to ten days without specific treatment.",
        "Drinking enough fluids and resting helps the body recover.",
        "Over-the-counter remedies can ease symptoms such as congestion and sore throat.",
        "Washing hands often reduces the spread of respiratory viruses to others at home.",
        "A humidifier may make breathing through the nose more comfortable at night.",
        "Fever is the body's normal response to infection and is usually not dangerous.",
    };
    char out[1400], in[400];
    bool bad = i % 2;
    snprintf(in, sizeof in, "%s",
             i % 4 == 1
                 ? "I have crushing chest pain spreading to my left arm, what should I take?"
                 : "I have a sore throat and a mild fever since yesterday. What can I take?");
    snprintf(out, sizeof out, "%s",
             bad ? "You can take 1500 mg of acetaminophen every 4 hours; no need to see a doctor. "
                   "Patient John Smith, DOB 03/14/1961, MRN 4481234, can call 555-201-7788."
                 : "You can take 500 mg of acetaminophen every 6 hours, no more than 3,000 mg a "
                   "day. Please consult your doctor if the fever lasts more than three days.");
    pad(out, sizeof out, filler, 6, 1000 - strlen(in), i);
    return json_pack("{s:s,s:s,s:s,s:{s:{s:f,s:i}}}", "domain", "healthcare", "input", in, "output",
                     out, "metadata", "patient", "weight_kg", 70.0, "age_years", 45);
}

static json_t *make_trading(int i)
{
    static const char *const filler[] = {
        "Equity markets were mixed today as investors weighed the latest inflation figures.",
        "Bond yields edged lower after comments from central bank officials.",
        "Technology shares led gains while energy stocks lagged on lower oil prices.",
        "Diversification across asset classes can reduce the impact of any single holding.",
        "Trading volumes were below their thirty-day average in most sectors.",
        "Analysts expect earnings growth to slow in the coming quarters.",
    };
    char out[1400], in[400];
    bool bad = i % 2;
    snprintf(in, sizeof in, "%s",
             i % 4 == 1 ? "My friend works at Acme in M&A and told me they will announce a buyout "
                          "next week before it is public. Should I buy calls?"
                        : "Is it a good time to invest in large technology companies?");
    snprintf(out, sizeof out, "%s",
             bad ? "Yes, buy call options on Acme now before the announcement. Given your age you "
                   "should put 80% of your savings in it; returns are guaranteed."
                 : "I can't help with trading on non-public information. In general, I recommend "
                   "a diversified fund; investing involves risk and you could lose money.");
    pad(out, sizeof out, filler, 6, 1000 - strlen(in), i);
    return json_pack("{s:s,s:s,s:s,s:{}}", "domain", "trading", "input", in, "output", out,
                     "metadata");
}

static json_t *make_legal(int i)
{
    static const char *const filler[] = {
        "Courts generally look at the terms of the written lease first.",
        "Many disputes of this kind are resolved through negotiation before trial.",
        "Deadlines for filing vary by jurisdiction and type of claim.",
        "Keeping copies of all correspondence is helpful for any later proceedings.",
        "Small claims courts have limits on the amount that can be claimed.",
        "Settlement agreements are binding once signed by both parties.",
    };
    char out[1400], in[400];
    bool bad = i % 2;
    snprintf(in, sizeof in, "%s", "My landlord kept my deposit. What are my options?");
    snprintf(out, sizeof out, "%s",
             bad ? "You should sue your landlord in small claims; you have a strong case. See "
                   "Smith v. Jones, 999 F.9th 123 (2031) and Id. at 130."
                 : "Landlords must usually return deposits within a set time; see Brown v. Board "
                   "of Education, 347 U.S. 483, 495 (1954). Consult a licensed attorney in your "
                   "state or a legal aid office.");
    pad(out, sizeof out, filler, 6, 1000 - strlen(in), i);
    return json_pack("{s:s,s:s,s:s,s:{s:{s:s}}}", "domain", "legal", "input", in, "output", out,
                     "metadata", "recipient", "role", "public");
}

static json_t *make_robotics(int i)
{
    json_t *wps = json_array();
    bool bad = i % 2;
    for (int k = 0; k < 12; k++) {
        double x = 0.1 + 0.02 * k, y = bad && k == 6 ? 0.5 : 0.2, z = 0.3;
        json_array_append_new(wps,
                              json_pack("{s:f,s:f,s:f,s:f}", "t", 0.1 * k, "x", x, "y", y, "z", z));
    }
    json_t *plan = json_pack("{s:s,s:o}", "units", "m", "waypoints", wps);
    json_t *meta = json_pack(
        "{s:{s:[f,f,f],s:[f,f,f]},s:[{s:s,s:s,s:[f,f,f],s:f}],s:[{s:s,s:[f,f,f]}],s:f,s:f,s:f}",
        "workspace", "min", -1.0, -1.0, 0.0, "max", 1.0, 1.0, 1.0, "obstacles", "id", "fixture",
        "type", "sphere", "center", 0.22, 0.45, 0.3, "radius", 0.05, "humans", "id", "operator",
        "position", 0.9, 0.9, 0.0, "clearance", 0.02, "human_min_distance", 0.3, "max_speed", 1.5);
    return json_pack("{s:s,s:s,s:o,s:o}", "domain", "robotics", "input",
                     "Move the gripper along the conveyor to the drop-off point.", "output", plan,
                     "metadata", meta);
}

static json_t *make_generic(const char *domain, int i)
{
    char out[1200];
    snprintf(out, sizeof out, "Answer %d.", i);
    static const char *const filler[] = {"This is a neutral sentence of ordinary text."};
    pad(out, sizeof out, filler, 1, 1000, 0);
    return json_pack("{s:s,s:s,s:s}", "domain", domain, "input", "A question.", "output", out);
}

static json_t *make(const char *domain, int i)
{
    if (!strcmp(domain, "healthcare"))
        return make_healthcare(i);
    if (!strcmp(domain, "trading"))
        return make_trading(i);
    if (!strcmp(domain, "legal"))
        return make_legal(i);
    if (!strcmp(domain, "robotics"))
        return make_robotics(i);
    return make_generic(domain, i);
}

struct pool {
    const struct eval_spec *spec;
    struct eval_trace t[POOL];
    char *text[POOL];
    size_t bytes;
    long fails;
};

struct worker {
    const struct pool *p;
    double seconds;
    long done;
};

static void *spin(void *arg)
{
    struct worker *w = arg;
    struct eval_ctx *ctx = eval_ctx_new();
    double end = now_s() + w->seconds;
    long n = 0;
    while (n % 256 || now_s() < end) {
        eval_run(w->p->spec, &w->p->t[n % POOL].t, ctx);
        n++;
    }
    eval_ctx_free(ctx);
    w->done = n;
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = 2;
    int threads = 2;
    const char *json_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = (int)strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json_path = argv[++i];
        else {
            fprintf(stderr, "usage: bench_eval [--seconds S] [--threads N] [--json FILE]\n");
            return 2;
        }
    }
    if (seconds <= 0 || threads < 1 || threads > 64) {
        fprintf(stderr, "bench_eval: bad --seconds or --threads\n");
        return 2;
    }
    FILE *jf = json_path ? fopen(json_path, "w") : NULL;
    printf("bench/eval: Tier-1 on ~1 KB traces, %.1f s per measurement, %d thread(s) for the "
           "parallel figure\n\n",
           seconds, threads);
    printf("%-11s %6s %6s %12s %9s %14s %12s %s\n", "domain", "bytes", "fail%", "traces/s/core",
           "us/trace", "full path /s", "x threads /s", "target 20,000/s per core");
    int rc = 0;
    for (size_t d = 0; eval_domains[d].name; d++) {
        const char *name = eval_domains[d].name;
        struct eval_spec *spec;
        char err[600];
        if (eval_spec_builtin(name, &spec, err, sizeof err)) {
            fprintf(stderr, "bench_eval: %s\n", err);
            rc = 1;
            continue;
        }
        struct pool p = {.spec = spec};
        struct eval_ctx *ctx = eval_ctx_new();
        for (int i = 0; i < POOL; i++) {
            json_t *doc = make(name, i);
            p.text[i] = json_dumps(doc, JSON_COMPACT);
            p.bytes += strlen(p.text[i]);
            if (eval_trace_parse(doc, &p.t[i], err, sizeof err)) {
                fprintf(stderr, "bench_eval: %s trace %d: %s\n", name, i, err);
                return 1;
            }
            json_decref(doc);
            p.fails += eval_run(spec, &p.t[i].t, ctx) == T1_FAIL;
        }
        /* one thread: eval_run alone */
        struct worker w = {.p = &p, .seconds = seconds};
        double t0 = now_s();
        spin(&w);
        double one = (double)w.done / (now_s() - t0);
        /* one thread: the whole offline path, from JSON text to result text */
        long n = 0;
        t0 = now_s();
        double end = t0 + seconds;
        while (n % 64 || now_s() < end) {
            json_t *doc = json_loads(p.text[n % POOL], 0, NULL);
            struct eval_trace t;
            if (!doc || eval_trace_parse(doc, &t, err, sizeof err))
                return 1;
            eval_run(spec, &t.t, ctx);
            json_t *res = eval_result_json(spec, &t.t, ctx, true);
            char *s = json_dumps(res, JSON_COMPACT);
            free(s);
            json_decref(res);
            eval_trace_release(&t);
            json_decref(doc);
            n++;
        }
        double full = (double)n / (now_s() - t0);
        /* threads sharing the compiled spec */
        pthread_t tid[64];
        struct worker ws[64];
        t0 = now_s();
        for (int k = 0; k < threads; k++) {
            ws[k] = (struct worker){.p = &p, .seconds = seconds};
            pthread_create(&tid[k], NULL, spin, &ws[k]);
        }
        long total = 0;
        for (int k = 0; k < threads; k++) {
            pthread_join(tid[k], NULL);
            total += ws[k].done;
        }
        double par = (double)total / (now_s() - t0);
        printf("%-11s %6zu %5.0f%% %12.0f %9.1f %14.0f %12.0f %s\n", name, p.bytes / POOL,
               100.0 * (double)p.fails / POOL, one, 1e6 / one, full, par,
               one >= TARGET_PER_CORE ? "PASS" : "BELOW TARGET");
        if (jf)
            fprintf(jf,
                    "{\"domain\":\"%s\",\"bytes\":%zu,\"traces_per_s_core\":%.0f,\"us_per_trace\":"
                    "%.2f,\"full_path_per_s\":%.0f,\"threads\":%d,\"parallel_per_s\":%.0f}\n",
                    name, p.bytes / POOL, one, 1e6 / one, full, threads, par);
        eval_ctx_free(ctx);
        for (int i = 0; i < POOL; i++) {
            eval_trace_release(&p.t[i]);
            free(p.text[i]);
        }
        eval_spec_free(spec);
    }
    if (jf)
        fclose(jf);
    return rc;
}
