/*
 * fair: the FAIR model of a portfolio of loss scenarios, and its parser from a JSON document (a YAML
 * scenario file is turned into the same JSON by core/yaml first; the schema is in docs/scenarios.md).
 *
 * A scenario gives its loss event frequency directly (lef) or by decomposition: tef (itself direct or
 * contact_frequency x probability_of_action) times vulnerability (a distribution, or per sample
 * threat_capability > resistance_strength). Loss magnitude is primary_loss plus, with probability
 * secondary_loss.frequency, secondary_loss.magnitude; each magnitude is one distribution or the sum of
 * the six FAIR loss forms given. Pure: no I/O. fair_parse() owns nothing of the document; the portfolio
 * owns its arrays and is released by fair_free().
 */
#ifndef AEGIS_RISK_FAIR_H
#define AEGIS_RISK_FAIR_H

#include "risk/dist.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum fair_form {
    FORM_PRODUCTIVITY,
    FORM_RESPONSE,
    FORM_REPLACEMENT,
    FORM_FINES,
    FORM_COMPETITIVE,
    FORM_REPUTATION,
    FORM__N
};
extern const char *const fair_form_names[FORM__N];

/* A magnitude: one distribution, or the sum of the loss forms present. */
struct fair_magnitude {
    bool by_forms;
    struct dist total;
    unsigned nforms;
    struct dist forms[FORM__N];
    enum fair_form form_of[FORM__N];
};

enum fair_freq {
    FREQ_LEF,      /* lef given */
    FREQ_TEF_VULN, /* tef x vulnerability distribution */
    FREQ_TEF_TCRS, /* tef, and each threat event is a loss event when TC > RS */
};

#define FAIR_MAX_TAGS 16

struct fair_scenario {
    char name[128];
    unsigned ntags;
    char tags[FAIR_MAX_TAGS][32]; /* what controls' effects select it by (docs/controls.md) */
    /* Multipliers on the scenario (1 as parsed; the control optimiser sets them): of the threat
     * (or loss) event frequency, of the vulnerability (P(TC > RS), the vulnerability draw, or the
     * LEF when given directly), and of the primary and secondary loss magnitudes. */
    double m_freq, m_vuln, m_primary, m_secondary;
    enum fair_freq freq;
    struct dist lef;
    bool tef_by_parts;          /* tef = contact_frequency x probability_of_action */
    struct dist tef, cf, poa;
    struct dist vuln, tc, rs;
    double p_tcrs;              /* P(TC > RS), or -1: draw TC and RS per threat (a Poisson one) */
    struct fair_magnitude primary;
    bool has_secondary;
    struct dist slef;           /* a probability per loss event */
    double p_secondary;         /* its mean: the chance a loss event has a secondary loss */
    struct fair_magnitude secondary;
};

struct fair_portfolio {
    char name[128];
    size_t n;
    struct fair_scenario *s;
    double *correlation; /* n x n, row-major, or NULL (independent) */
    size_t nthresholds;
    double *thresholds;  /* P(annual loss > t) is reported for each */
};

/* Parses and validates. AEG_OK, or AEG_EINVAL with err naming the scenario and the field path:
 * `scenario "Ransomware" (scenarios[0].tef): min is greater than max`. *out is always initialised
 * and must be fair_free'd. */
int fair_parse(const json_t *doc, struct fair_portfolio *out, char *err, size_t errlen);
void fair_free(struct fair_portfolio *p);

/* The exact expected loss events a year (the mean rate times the mean vulnerability) and expected
 * primary and secondary loss per loss event (the secondary weighted by its chance), multipliers
 * included: E[annual loss] = events x (primary + secondary) in both semantics. */
void fair_expectations(const struct fair_scenario *s, double *events, double *primary,
                       double *secondary);

/* Draws one value of a magnitude. */
double fair_magnitude_sample(const struct fair_magnitude *m, struct rng *r);
double fair_magnitude_mean(const struct fair_magnitude *m);

#endif
