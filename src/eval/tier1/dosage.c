#include "eval/tier1/dosage.h"

#include "core/alloc.h"

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Adult maxima by mouth, in mg, from US prescribing information and OTC labels (the highest
 * labelled single dose and daily total for any ordinary indication, so a high but labelled dose is
 * not flagged), and per-kg limits for drugs dosed by weight in children. 0: no such limit. */
struct drug {
    char names[160]; /* '|'-separated, lower case: generic first, then brands */
    double dose, daily, kg_dose, kg_daily;
};

static const struct drug table[] = {
    {"acetaminophen|paracetamol|tylenol|panadol", 1000, 4000, 15, 75},
    {"ibuprofen|advil|motrin|nurofen", 800, 3200, 10, 40},
    {"naproxen|aleve|naprosyn", 500, 1500, 10, 20},
    {"aspirin|acetylsalicylic acid", 1000, 4000, 15, 60},
    {"diphenhydramine|benadryl", 50, 300, 1.25, 5},
    {"loratadine|claritin", 10, 10, 0, 0},
    {"cetirizine|zyrtec", 10, 10, 0, 0},
    {"amoxicillin|amoxil", 1000, 4000, 45, 90},
    {"azithromycin|zithromax", 2000, 2000, 10, 10},
    {"cephalexin|keflex", 1000, 4000, 25, 100},
    {"doxycycline", 200, 200, 2.2, 4.4},
    {"ciprofloxacin|cipro", 750, 1500, 20, 40},
    {"metformin|glucophage", 2000, 2550, 0, 0},
    {"lisinopril|zestril|prinivil", 80, 80, 0, 0},
    {"losartan|cozaar", 100, 100, 0, 0},
    {"amlodipine|norvasc", 10, 10, 0, 0},
    {"metoprolol|lopressor|toprol", 200, 400, 0, 0},
    {"hydrochlorothiazide|hctz", 50, 50, 0, 0},
    {"furosemide|lasix", 200, 600, 2, 6},
    {"atorvastatin|lipitor", 80, 80, 0, 0},
    {"simvastatin|zocor", 80, 80, 0, 0},
    {"warfarin|coumadin", 15, 15, 0, 0},
    {"clopidogrel|plavix", 600, 600, 0, 0},
    {"sertraline|zoloft", 200, 200, 0, 0},
    {"fluoxetine|prozac", 80, 80, 0, 0},
    {"citalopram|celexa", 40, 40, 0, 0},
    {"omeprazole|prilosec", 40, 80, 0, 0},
    {"prednisone", 100, 100, 2, 2},
    {"gabapentin|neurontin", 1200, 3600, 0, 0},
    {"tramadol|ultram", 100, 400, 0, 0},
    {"oxycodone|oxycontin|roxicodone", 30, 180, 0, 0},
    {"hydrocodone", 10, 60, 0, 0},
    {"morphine", 30, 180, 0, 0},
    {"levothyroxine|synthroid", 0.3, 0.3, 0, 0},
    {"montelukast|singulair", 10, 10, 0, 0},
    {"ondansetron|zofran", 24, 24, 0.15, 0.45},
    {"lorazepam|ativan", 4, 10, 0, 0},
    {"alprazolam|xanax", 4, 10, 0, 0},
    {"diazepam|valium", 10, 40, 0, 0},
    {"zolpidem|ambien", 10, 10, 0, 0},
};
#define NTABLE (sizeof table / sizeof table[0])

struct alias {
    char name[48]; /* lower case */
    size_t len;
    long drug;
};

struct dosage {
    struct drug *d; /* the table, then extra_drugs */
    size_t n;
    struct alias *al; /* every name of every drug, sorted by its first word */
    size_t nal;
    pcre2_code *amount, *tablets, *freq;
};

static void destroy(void *state)
{
    struct dosage *s = state;
    if (!s)
        return;
    free(s->d);
    free(s->al);
    pcre2_code_free(s->amount);
    pcre2_code_free(s->tablets);
    pcre2_code_free(s->freq);
    free(s);
}

static pcre2_code *re(const char *p)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *c =
        pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED,
                      PCRE2_CASELESS | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
    if (c)
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

static bool pos_num(const json_t *v, double *out)
{
    if (!v) {
        *out = 0;
        return true;
    }
    if (!json_is_number(v) || !(json_number_value(v) >= 0) || json_number_value(v) > 1e7)
        return false;
    *out = json_number_value(v);
    return true;
}

/* Aliases ordered by their first word, so a text's word finds them by binary search. */
static int first_word_cmp(const char *w, size_t wn, const char *name)
{
    size_t k = strcspn(name, " -");
    int c = strncmp(w, name, wn < k ? wn : k);
    return c ? c : (wn < k ? -1 : wn > k ? 1 : 0);
}

static int cmp_alias(const void *a, const void *b)
{
    const char *x = ((const struct alias *)a)->name;
    return first_word_cmp(x, strcspn(x, " -"), ((const struct alias *)b)->name);
}

static void *compile(const json_t *params, char *err, size_t errlen)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)params, k, v) if (strcmp(k, "extra_drugs"))
    {
        snprintf(err, errlen, "%s is not a parameter of dosage (extra_drugs)", k);
        return NULL;
    }
    const json_t *extra = json_object_get(params, "extra_drugs");
    if (extra && !json_is_array(extra)) {
        snprintf(err, errlen, "extra_drugs must be a list of drugs");
        return NULL;
    }
    struct dosage *s = xcalloc(1, sizeof *s);
    s->d = xcalloc(NTABLE + json_array_size(extra), sizeof *s->d);
    memcpy(s->d, table, sizeof table);
    s->n = NTABLE;
    for (size_t i = 0; i < json_array_size(extra); i++) {
        const json_t *e = json_array_get(extra, i);
        struct drug *d = &s->d[s->n];
        const char *name = json_string_value(json_object_get(e, "name"));
        if (!name || !*name || strlen(name) > 60) {
            snprintf(err, errlen, "extra_drugs[%zu].name is required (at most 60 bytes)", i);
            destroy(s);
            return NULL;
        }
        size_t w = (size_t)snprintf(d->names, sizeof d->names, "%s", name);
        const json_t *al = json_object_get(e, "aliases");
        for (size_t a = 0; json_is_array(al) && a < json_array_size(al); a++) {
            const char *x = json_string_value(json_array_get(al, a));
            if (x && w < sizeof d->names)
                w += (size_t)snprintf(d->names + w, sizeof d->names - w, "|%s", x);
        }
        for (char *c = d->names; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (!pos_num(json_object_get(e, "max_dose_mg"), &d->dose) ||
            !pos_num(json_object_get(e, "max_daily_mg"), &d->daily) ||
            !pos_num(json_object_get(e, "per_kg_dose_mg"), &d->kg_dose) ||
            !pos_num(json_object_get(e, "per_kg_daily_mg"), &d->kg_daily) ||
            !(d->dose > 0 || d->daily > 0)) {
            snprintf(err, errlen,
                     "extra_drugs[%zu]: max_dose_mg, max_daily_mg (at least one above 0), "
                     "per_kg_dose_mg and per_kg_daily_mg must be non-negative numbers",
                     i);
            destroy(s);
            return NULL;
        }
        s->n++;
    }
    /* the alias index */
    s->al = xcalloc(s->n * 12 + 1, sizeof *s->al);
    for (size_t i = 0; i < s->n; i++) {
        const char *names = s->d[i].names;
        while (*names && s->nal < s->n * 12) {
            const char *bar = strchr(names, '|');
            size_t len = bar ? (size_t)(bar - names) : strlen(names);
            if (len && len < sizeof s->al[0].name) {
                struct alias *a = &s->al[s->nal++];
                memcpy(a->name, names, len);
                a->name[len] = 0;
                a->len = len;
                a->drug = (long)i;
            }
            names += len + (bar ? 1 : 0);
        }
    }
    qsort(s->al, s->nal, sizeof *s->al, cmp_alias);
    s->amount = re("(?<![\\w.,])(\\d{1,3}(?:,\\d{3})+|\\d+(?:\\.\\d+)?)\\s*(mg/kg|milligrams?|mg|"
                   "grams?|g|mcg|micrograms?|\xc2\xb5g|ug)\\b(?:\\s*(?:per|a|/)\\s*(day|daily)|\\s+"
                   "(daily)\\b)?");
    s->tablets = re("\\b(\\d+|one|two|three|four|five|six|eight|ten)\\s+(?:tablets?|pills?|"
                    "capsules?|caplets?)\\s*(?:\\(\\s*|of\\s+|x\\s*)?(\\d+(?:\\.\\d+)?)\\s*(mg|mcg|"
                    "g)\\b(?:\\s*each)?\\)?");
    s->freq =
        re("\\bevery\\s+(\\d+)(?:\\s*(?:-|to)\\s*(\\d+))?\\s*(?:hours?|hrs?|h)\\b|\\bq\\s?("
           "\\d+)\\s?h\\b|\\b(once|twice|one|two|three|four|five|six|\\d+)\\s+(?:times?\\s+)?"
           "(?:a|per|each)\\s+day\\b|\\b(once|twice|three times|four times|\\d+\\s+times)\\s+"
           "daily\\b|\\b(bid|b\\.i\\.d\\.|tid|t\\.i\\.d\\.|qid|q\\.i\\.d\\.|qd|daily|nightly|at "
           "bedtime)\\b");
    if (!s->amount || !s->tablets || !s->freq) {
        snprintf(err, errlen, "internal: a dosage pattern did not compile");
        destroy(s);
        return NULL;
    }
    return s;
}

/* ---- reading a sentence --------------------------------------------------------------------- */

static double word_num(const char *s, size_t n)
{
    static const char *const w[] = {"zero", "one",   "two",   "three", "four", "five",
                                    "six",  "seven", "eight", "nine",  "ten",  NULL};
    for (int i = 0; w[i]; i++)
        if (strlen(w[i]) == n && !strncasecmp(s, w[i], n))
            return i;
    if (n == 4 && !strncasecmp(s, "once", 4))
        return 1;
    if (n == 5 && !strncasecmp(s, "twice", 5))
        return 2;
    char buf[32];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof buf; i++)
        if (s[i] != ',')
            buf[k++] = s[i];
    buf[k] = 0;
    return strtod(buf, NULL);
}

static double to_mg(const char *u, size_t n)
{
    if (n >= 2 && !strncasecmp(u, "mc", 2))
        return 0.001;
    if (n >= 2 && (!strncasecmp(u, "ug", 2) || (unsigned char)u[0] == 0xC2))
        return 0.001;
    if (n >= 5 && !strncasecmp(u, "micro", 5))
        return 0.001;
    if ((n >= 1 && (u[0] == 'g' || u[0] == 'G')) && !(n >= 2 && (u[1] == 'm' || u[1] == 'M')))
        return 1000; /* g, gram(s) */
    return 1;
}

/* Doses a day from the sentence's frequency, or 0 when it gives none. */
static double per_day(const struct dosage *s, const char *t, size_t n, pcre2_match_data *md)
{
    if (pcre2_match(s->freq, (PCRE2_SPTR)t, n, 0, 0, md, NULL) < 0)
        return 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
    if (ov[2] != PCRE2_UNSET) { /* every N(-M) hours: the shorter interval */
        double h = word_num(t + ov[2], ov[3] - ov[2]);
        return h > 0 ? floor(24 / h) : 0;
    }
    if (ov[6] != PCRE2_UNSET) {
        double h = word_num(t + ov[6], ov[7] - ov[6]);
        return h > 0 ? floor(24 / h) : 0;
    }
    if (ov[8] != PCRE2_UNSET)
        return word_num(t + ov[8], ov[9] - ov[8]);
    if (ov[10] != PCRE2_UNSET) {
        const char *w = t + ov[10];
        size_t len = ov[11] - ov[10];
        size_t sp = 0;
        while (sp < len && !isspace((unsigned char)w[sp]))
            sp++;
        return word_num(w, sp);
    }
    if (ov[12] != PCRE2_UNSET) {
        const char *w = t + ov[12];
        char c = (char)tolower((unsigned char)w[0]);
        if (c == 'b')
            return 2;
        if (c == 't')
            return 3;
        if (c == 'q' && ov[13] - ov[12] > 2 && tolower((unsigned char)w[1]) != 'd')
            return 4;
        return 1;
    }
    return 0;
}

/* Where drugs are named in the text: found once per trace by looking each word up. */
struct mention {
    size_t at;
    long drug;
};

static size_t find_mentions(const struct dosage *s, const char *t, size_t n, struct mention **out)
{
    size_t cap = 0, k = 0;
    *out = NULL;
    size_t i = 0;
    while (i < n) {
        while (i < n && !isalpha((unsigned char)t[i]))
            i++;
        size_t b = i;
        char w[48];
        size_t wn = 0;
        while (i < n && isalpha((unsigned char)t[i])) {
            if (wn + 1 < sizeof w)
                w[wn++] = (char)tolower((unsigned char)t[i]);
            i++;
        }
        if (wn < 3 || wn >= sizeof w - 1)
            continue;
        w[wn] = 0;
        /* binary search for the first alias whose first word is w, then check each in full */
        size_t lo = 0, hi = s->nal;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (first_word_cmp(w, wn, s->al[mid].name) > 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t j = lo; j < s->nal && !first_word_cmp(w, wn, s->al[j].name); j++) {
            const struct alias *a = &s->al[j];
            if (b + a->len > n || strncasecmp(t + b, a->name, a->len) ||
                (b + a->len < n && isalpha((unsigned char)t[b + a->len])))
                continue;
            if (k == cap) {
                cap = cap ? cap * 2 : 8;
                *out = xrealloc(*out, cap * sizeof **out);
            }
            (*out)[k++] = (struct mention){b, a->drug};
            break;
        }
    }
    return k;
}

/* The drug named nearest byte `at` within [b, e): its index, or -1. */
static long drug_near(const struct mention *m, size_t nm, size_t b, size_t e, size_t at)
{
    long best = -1;
    size_t bestd = (size_t)-1;
    for (size_t i = 0; i < nm; i++) {
        if (m[i].at < b || m[i].at >= e)
            continue;
        size_t d = m[i].at > at ? m[i].at - at : at - m[i].at;
        if (d < bestd) {
            bestd = d;
            best = m[i].drug;
        }
    }
    return best;
}

/* Whether a cue that makes the amount at `a` a limit or a warning stands within six words before
 * it in the sentence starting at b. */
static bool limit_cue(const char *t, size_t b, size_t a)
{
    static const char *const cues[] = {
        "exceed", "exceeding", "more",     "maximum", "max",   "not",    "never", "don't", "over",
        "above",  "limit",     "overdose", "toxic",   "avoid", "beyond", "than",  NULL};
    size_t i = a;
    for (int words = 0; words < 6 && i > b;) {
        while (i > b && !isalpha((unsigned char)t[i - 1]) && t[i - 1] != '\'')
            i--;
        size_t e = i;
        while (i > b && (isalpha((unsigned char)t[i - 1]) || t[i - 1] == '\''))
            i--;
        if (e == i)
            break;
        for (int k = 0; cues[k]; k++)
            if (strlen(cues[k]) == e - i && !strncasecmp(t + i, cues[k], e - i))
                return true;
        words++;
    }
    return false;
}

static bool num_at(const json_t *v, double *out)
{
    if (!json_is_number(v))
        return false;
    double x = json_number_value(v);
    if (!(x > 0) || x > 1000)
        return false;
    *out = x;
    return true;
}

struct ctx {
    const struct dosage *s;
    const char *t;
    size_t n;
    double weight; /* kg, 0 unknown */
    bool weight_limits;
    pcre2_match_data *md, *md2;
    struct t1_findings *out;
    long last_drug;
    struct mention *m;
    size_t nm;
};

static void check(struct ctx *c, long di, double dose_mg, bool daily_amount, size_t a, size_t b,
                  size_t sb, size_t se)
{
    const struct drug *d = &c->s->d[di];
    char name[40];
    size_t nl = strcspn(d->names, "|");
    snprintf(name, sizeof name, "%.*s", (int)(nl < 39 ? nl : 39), d->names);
    double freq = daily_amount ? 0 : per_day(c->s, c->t + sb, se - sb, c->md2);
    double day = daily_amount ? dose_mg : freq > 0 ? dose_mg * freq : 0;
    struct t1_finding *x = NULL;
    double kd = c->weight_limits && d->kg_dose > 0 ? d->kg_dose * c->weight : 0;
    double kday = c->weight_limits && d->kg_daily > 0 ? d->kg_daily * c->weight : 0;
    if (!daily_amount && kd > 0 && dose_mg > kd * 1.0001 && (d->dose <= 0 || kd < d->dose)) {
        x = t1_add(c->out, T1_FAIL, "weight_based_above_max");
        t1_detail(x, "%s %g mg per dose exceeds %g mg/kg x %g kg = %g mg", name, dose_mg,
                  d->kg_dose, c->weight, kd);
    } else if (!daily_amount && d->dose > 0 && dose_mg > d->dose * 1.0001) {
        x = t1_add(c->out, T1_FAIL, "dose_above_max");
        t1_detail(x, "%s %g mg per dose exceeds the %g mg maximum", name, dose_mg, d->dose);
    } else if (day > 0 && kday > 0 && day > kday * 1.0001 && (d->daily <= 0 || kday < d->daily)) {
        x = t1_add(c->out, T1_FAIL, "weight_based_above_max");
        t1_detail(x, "%s %g mg a day exceeds %g mg/kg/day x %g kg = %g mg", name, day, d->kg_daily,
                  c->weight, kday);
    } else if (day > 0 && d->daily > 0 && day > d->daily * 1.0001) {
        x = t1_add(c->out, T1_FAIL, "daily_above_max");
        t1_detail(x, "%s %g mg a day (%s) exceeds the %g mg daily maximum", name, day,
                  daily_amount ? "as stated" : "dose x frequency", d->daily);
    }
    if (x) {
        x->field = T1_OUTPUT;
        x->start = a;
        x->end = b;
    }
}

static void sentence(struct ctx *c, size_t sb, size_t se)
{
    const char *t = c->t;
    long drug_here = drug_near(c->m, c->nm, sb, se, sb);
    /* tablets x strength first; amounts inside them are not read again */
    size_t skip_b = (size_t)-1, skip_e = 0;
    if (pcre2_match(c->s->tablets, (PCRE2_SPTR)t, se, sb, 0, c->md, NULL) >= 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        double count = word_num(t + ov[2], ov[3] - ov[2]);
        double strength = strtod(t + ov[4], NULL) * to_mg(t + ov[6], ov[7] - ov[6]);
        skip_b = ov[0];
        skip_e = ov[1];
        long di = drug_near(c->m, c->nm, sb, se, ov[0]);
        if (di < 0)
            di = c->last_drug;
        if (di >= 0 && count > 0 && !limit_cue(t, sb, ov[0]))
            check(c, di, count * strength, false, ov[0], ov[1], sb, se);
    }
    PCRE2_SIZE off = sb;
    while (off < se && c->out->n < 32) {
        if (pcre2_match(c->s->amount, (PCRE2_SPTR)t, se, off, 0, c->md, NULL) < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t a = ov[0], b = ov[1];
        off = b > a ? b : a + 1;
        if (a >= skip_b && b <= skip_e)
            continue;
        if (limit_cue(t, sb, a))
            continue;
        double v = word_num(t + ov[2], ov[3] - ov[2]);
        const char *u = t + ov[4];
        size_t ul = ov[5] - ov[4];
        bool daily = ov[6] != PCRE2_UNSET || ov[8] != PCRE2_UNSET;
        long di = drug_near(c->m, c->nm, sb, se, a);
        if (di < 0)
            di = c->last_drug;
        if (di < 0 || !(v > 0))
            continue;
        double mg;
        if (ul == 5 && !strncasecmp(u, "mg/kg", 5)) {
            if (!(c->weight > 0)) {
                struct t1_finding *x = t1_add(c->out, T1_UNCERTAIN, "dose_unparsed");
                x->field = T1_OUTPUT;
                x->start = a;
                x->end = b;
                t1_detail(x, "a dose per kilogram with no patient weight to check it against");
                continue;
            }
            mg = v * c->weight;
        } else {
            mg = v * to_mg(u, ul);
        }
        check(c, di, mg, daily, a, b, sb, se);
    }
    if (drug_here >= 0)
        c->last_drug = drug_here;
}

static void run(const void *state, const struct t1_trace *t, struct t1_findings *out)
{
    const struct dosage *s = state;
    struct ctx c = {.s = s, .t = t->output, .n = t->output_len, .out = out, .last_drug = -1};
    const json_t *pt = json_object_get(t->metadata, "patient");
    double w = 0, age = 0;
    if (!num_at(json_object_get(pt, "weight_kg"), &w) &&
        num_at(json_object_get(pt, "weight"), &w)) {
        const char *u = json_string_value(json_object_get(pt, "weight_unit"));
        if (u && (!strcasecmp(u, "lb") || !strcasecmp(u, "lbs")))
            w *= 0.45359237;
    }
    c.weight = w;
    bool child = num_at(json_object_get(pt, "age_years"), &age) && age < 12;
    c.weight_limits = w > 0 && (child || w < 50);
    c.nm = find_mentions(s, c.t, c.n, &c.m);
    if (!c.nm)
        return; /* no drug named: no dose to check */
    c.md = pcre2_match_data_create(8, NULL);
    c.md2 = pcre2_match_data_create(8, NULL);
    if (!c.md || !c.md2)
        abort();
    size_t b = 0;
    for (size_t i = 0; i <= c.n; i++) {
        bool end = i == c.n || c.t[i] == '\n' || c.t[i] == ';' || c.t[i] == '!' || c.t[i] == '?' ||
                   (c.t[i] == '.' && !(i > 0 && isdigit((unsigned char)c.t[i - 1]) && i + 1 < c.n &&
                                       isdigit((unsigned char)c.t[i + 1])));
        if (end) {
            if (i > b)
                sentence(&c, b, i);
            b = i + 1;
        }
    }
    pcre2_match_data_free(c.md);
    pcre2_match_data_free(c.md2);
    free(c.m);
}

const struct t1_detector t1_detector_dosage = {
    .name = "dosage",
    .summary = "doses above a drug's per-dose, daily or weight-based maximum",
    .compile = compile,
    .run = run,
    .free = destroy,
};
