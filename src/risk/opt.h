/*
 * opt: which security controls to buy under a budget. Parses a control catalog and an optimisation
 * input (a FAIR portfolio plus candidate controls, budgets, an objective and NIS2 coverage: the
 * schema is docs/controls.md), solves the choice exactly as a mixed-integer program with GLPK, and
 * re-checks the chosen set and the baseline with the Monte Carlo engine on the same seed.
 *
 * The model: scenario s's expected annual loss is events_s x (primary_s + secondary_s) (exact, from
 * the distributions' means: fair_expectations), and a chosen control c multiplies each of the four
 * factors (frequency, vulnerability, primary, secondary magnitude) by 1 - its reduction. So with
 * x_c in {0, 1} the loss is A_s exp(sum_c x_c ln a_cs) + B_s exp(sum_c x_c ln b_cs): a convex
 * function of a linear one. opt_solve minimises it by outer approximation: the MILP carries, for
 * every term, a variable t >= the term's tangent planes; each round solves the MILP (a lower
 * bound), evaluates the true loss at its solution (an upper bound) and adds tangents there, until
 * the two meet within the gap asked for (solver.gap, 1e-4 relative by default; the gap reached is
 * reported). Multiplicative combination is therefore exact, not linearised.
 *
 * Pure: no I/O, no database, no HTTP (GLPK's terminal output is switched off). The problem owns its
 * arrays and portfolio; opt_free releases it. Not thread-safe across calls only in that GLPK keeps
 * per-thread state: one solve per thread at a time.
 */
#ifndef AEGIS_RISK_OPT_H
#define AEGIS_RISK_OPT_H

#include "risk/fair.h"
#include "risk/mc.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The data compiled into the binary (cmake/embed_data.cmake): "controls/catalog",
 * "templates/sme-ransomware", ...; the list ends with {NULL, NULL}. */
struct opt_data {
    const char *name, *yaml;
};
extern const struct opt_data opt_data[];

enum opt_factor { OPT_TEF, OPT_VULN, OPT_PRIMARY, OPT_SECONDARY, OPT__NF };

struct opt_control {
    char id[64], name[200], category[32], group[64];
    unsigned nis2;                  /* bit k: Article 21(2) letter 'a' + k */
    double one_off, yearly, annual; /* annual = yearly + one_off / amortisation years */
    size_t nreq;
    size_t *req; /* indices of the controls it requires */
    bool implemented, candidate;
    double *keep;   /* nscenarios x OPT__NF: 1 - the reduction it applies */
    json_t *source; /* the catalog entry (for reports) */
};

enum opt_objective {
    OPT_MIN_TOTAL_COST, /* expected annual loss + annualised control cost */
    OPT_MAX_REDUCTION,  /* expected annual loss, within the budgets */
    OPT_MIN_SPEND,      /* annualised control cost, reaching target_loss */
};

struct opt_problem {
    char name[128];
    struct fair_portfolio p; /* the scenarios, multipliers at 1 */
    size_t nc;
    struct opt_control *c;
    double budget_one_off, budget_yearly; /* INFINITY when not given */
    enum opt_objective objective;
    double target_loss;        /* OPT_MIN_SPEND */
    unsigned coverage;         /* NIS2 letters to cover (bits as opt_control.nis2) */
    double gap;                /* the relative optimality gap to prove (input solver.gap) */
    double time_limit;         /* seconds per opt_solve (input solver.time_limit) */
    const atomic_bool *cancel; /* polled during solves; NULL: none */
};
#define OPT_DEFAULT_GAP 1e-4
#define OPT_DEFAULT_TIME_LIMIT 60.0

/* Parses an optimisation input (docs/controls.md) whose controls come from the catalog named in it
 * (`standard`: the compiled-in data/controls/catalog.yaml). AEG_OK, or AEG_EINVAL with err naming
 * the field. *out is always initialised and must be opt_free'd. */
int opt_parse(const json_t *doc, struct opt_problem *out, char *err, size_t errlen);
void opt_free(struct opt_problem *pb);

struct opt_solution {
    bool *on;               /* nc: chosen (implemented controls are on, not "chosen") */
    double loss;            /* the model's expected annual loss with the chosen set */
    double baseline_loss;   /* ... with the implemented controls only */
    double annual, one_off; /* the chosen controls' costs */
    double lower_bound;     /* the proven bound on the objective */
    double gap;             /* (objective - lower bound) / objective, >= 0 */
    int rounds;             /* outer-approximation rounds */
    bool limited;           /* the time or round limit ended the search before the gap was proven */
};

/* Solves pb (budget_yearly replaced by yearly_budget when that is >= 0). AEG_OK with *sol filled
 * (release with opt_solution_free; within pb->time_limit, or with sol->limited and the gap it
 * reached), AEG_EINVAL with err saying which constraint cannot be met ("covering Art. 21(2)(j)
 * needs at least 40,000 a year; the yearly budget is 25,000"), or AEG_EUNAVAIL when cancelled, out
 * of time before any feasible choice, or GLPK failed (err says which). */
int opt_solve(const struct opt_problem *pb, double yearly_budget, struct opt_solution *sol,
              char *err, size_t errlen);
void opt_solution_free(struct opt_solution *sol);

/* The model's expected annual loss with the controls in `on` (and the implemented ones). */
double opt_expected_loss(const struct opt_problem *pb, const bool *on);

/* Sets pb->p's multipliers for the controls in `on` plus the implemented ones (NULL: implemented
 * only), for re-simulation. */
void opt_apply(struct opt_problem *pb, const bool *on);

struct opt_run_opts {
    uint64_t iterations, seed; /* the re-check's */
    int threads;
    int frontier; /* points of the efficient frontier (0: none) */
    uint64_t frontier_iterations;
    double yearly_budget; /* < 0: the input's */
    const atomic_bool *cancel;
};

/* Solves, re-checks by simulation (baseline and chosen set on the same seed: the same years), and
 * sweeps the frontier. Returns the result document (new reference) or NULL with err set
 * (AEG_EINVAL: infeasible or bad options; AEG_EUNAVAIL: cancelled) and *rc. */
json_t *opt_run(struct opt_problem *pb, const struct opt_run_opts *o, int *rc, char *err,
                size_t errlen);

#endif
