#include "eval/tier1/citations.h"

#include "core/alloc.h"

#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Reporters and the years their editions cover (9999: still published). Sources: the reporters'
 * own title pages as summarised in the Bluebook's tables T1 (federal) and T1.3 (states); years are
 * those of the decisions the series prints, rounded to whole years. Abbreviations are written
 * without spaces; lookups drop spaces from the cited form. */
static const struct {
    const char *abbrev;
    int from, to;
} reporters[] = {
    {"U.S.", 1875, 9999},        {"S.Ct.", 1882, 9999},       {"L.Ed.", 1790, 1956},
    {"L.Ed.2d", 1956, 9999},     {"F.", 1880, 1924},          {"F.2d", 1924, 1993},
    {"F.3d", 1993, 2021},        {"F.4th", 2021, 9999},       {"F.Supp.", 1932, 1998},
    {"F.Supp.2d", 1998, 2014},   {"F.Supp.3d", 2014, 9999},   {"F.App'x", 2001, 2021},
    {"Fed.Appx.", 2001, 2021},   {"B.R.", 1979, 9999},        {"Fed.Cl.", 1992, 9999},
    {"Ct.Cl.", 1863, 1982},      {"F.R.D.", 1938, 9999},      {"T.C.", 1942, 9999},
    {"A.", 1885, 1938},          {"A.2d", 1938, 2010},        {"A.3d", 2010, 9999},
    {"N.E.", 1885, 1936},        {"N.E.2d", 1936, 2014},      {"N.E.3d", 2014, 9999},
    {"N.W.", 1879, 1941},        {"N.W.2d", 1941, 9999},      {"P.", 1883, 1931},
    {"P.2d", 1931, 2000},        {"P.3d", 2000, 9999},        {"S.E.", 1887, 1939},
    {"S.E.2d", 1939, 9999},      {"S.W.", 1886, 1928},        {"S.W.2d", 1928, 1999},
    {"S.W.3d", 1999, 9999},      {"So.", 1887, 1941},         {"So.2d", 1941, 2008},
    {"So.3d", 2008, 9999},       {"Cal.", 1850, 1934},        {"Cal.2d", 1934, 1969},
    {"Cal.3d", 1969, 1991},      {"Cal.4th", 1991, 2016},     {"Cal.5th", 2016, 9999},
    {"Cal.App.", 1905, 1934},    {"Cal.App.2d", 1934, 1969},  {"Cal.App.3d", 1969, 1991},
    {"Cal.App.4th", 1991, 2016}, {"Cal.App.5th", 2016, 9999}, {"Cal.Rptr.", 1959, 1991},
    {"Cal.Rptr.2d", 1991, 2003}, {"Cal.Rptr.3d", 2003, 9999}, {"N.Y.", 1847, 1956},
    {"N.Y.2d", 1956, 2003},      {"N.Y.3d", 2003, 9999},      {"A.D.", 1896, 1955},
    {"A.D.2d", 1955, 2003},      {"A.D.3d", 2003, 9999},      {"N.Y.S.", 1888, 1937},
    {"N.Y.S.2d", 1938, 9999},    {"N.Y.S.3d", 2014, 9999},    {"Misc.", 1892, 1955},
    {"Misc.2d", 1955, 2004},     {"Misc.3d", 2004, 9999},     {"Ill.", 1849, 1954},
    {"Ill.2d", 1954, 2011},      {"Ill.App.", 1877, 1954},    {"Ill.App.2d", 1954, 1970},
    {"Ill.App.3d", 1970, 2011},  {"Mass.", 1867, 9999},       {"Mass.App.Ct.", 1972, 9999},
    {"Pa.", 1845, 9999},         {"Pa.Super.", 1895, 9999},   {"N.J.", 1948, 9999},
    {"N.J.Super.", 1948, 9999},  {"Wash.", 1889, 1939},       {"Wash.2d", 1939, 9999},
    {"Wash.App.", 1969, 9999},   {"Tex.", 1846, 1962},        {"Ohio St.", 1851, 1964},
    {"OhioSt.", 1851, 1964},     {"OhioSt.2d", 1964, 1982},   {"OhioSt.3d", 1982, 9999},
    {"Mich.", 1847, 9999},       {"Mich.App.", 1965, 9999},   {"Wis.2d", 1957, 9999},
    {"Minn.", 1851, 1977},       {"Conn.", 1814, 9999},       {"Md.", 1851, 9999},
    {"Va.", 1880, 9999},         {"Ga.", 1846, 9999},         {"N.C.", 1778, 9999},
    {"Ariz.", 1866, 9999},       {"Colo.", 1864, 1980},       {"Or.", 1853, 9999},
    {"Fla.", 1846, 1948},        {"Mo.", 1821, 1956},         {"Ind.", 1848, 1981},
    {"Iowa", 1855, 1968},        {"Kan.", 1862, 9999},        {"Ky.", 1879, 1951},
    {"La.", 1830, 1972},         {"Neb.", 1860, 9999},        {"Nev.", 1865, 9999},
    {"N.M.", 1852, 9999},        {"Okla.", 1890, 1953},       {"S.C.", 1868, 9999},
    {"Tenn.", 1870, 1971},       {"Utah", 1855, 1974},        {"Vt.", 1826, 9999},
};

/* Cited with a volume and a page but not case reporters: statutes, regulations, registers. */
static const char *const not_reporters[] = {
    "U.S.C.", "U.S.C.A.",  "U.S.C.S.", "C.F.R.", "Stat.",        "Fed.Reg.", "Pub.L.No.",
    "Pub.L.", "Cong.Rec.", "U.S.T.",   "I.L.M.", "Op.Att'yGen.", NULL};

static void squash(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isspace(c))
            continue;
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x99) {
            out[k++] = '\'';
            i += 2;
            continue;
        }
        out[k++] = (char)c;
    }
    out[k] = 0;
}

bool cite_reporter(const char *abbrev, int *from, int *to)
{
    char key[64];
    squash(abbrev, strlen(abbrev), key, sizeof key);
    for (size_t i = 0; i < sizeof reporters / sizeof reporters[0]; i++) {
        char r[64];
        squash(reporters[i].abbrev, strlen(reporters[i].abbrev), r, sizeof r);
        if (!strcasecmp(r, key)) {
            *from = reporters[i].from;
            *to = reporters[i].to;
            return true;
        }
    }
    return false;
}

/* Whether the captured reporter is shaped like one: 1 to 4 tokens, each an abbreviation with a
 * period (U.S., F., Supp., N.E.3d), an apostrophe (App'x) or a series (2d, 3d, 4th, 5th). */
static bool reporter_shaped(const char *s, size_t n)
{
    int tokens = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        size_t b = i;
        bool period = false, apos = false;
        while (i < n && !isspace((unsigned char)s[i])) {
            period |= s[i] == '.';
            apos |= s[i] == '\'' || (unsigned char)s[i] == 0xE2;
            i++;
        }
        size_t len = i - b;
        bool series = len >= 2 && len <= 3 && isdigit((unsigned char)s[b]) &&
                      (!strncmp(s + b + 1, "d", len - 1) || !strncmp(s + b + 1, "th", len - 1));
        if (!period && !apos && !series)
            return false;
        if (++tokens > 4)
            return false;
    }
    return tokens > 0 && isupper((unsigned char)s[0]);
}

struct cite {
    char **known; /* "347|U.S.|483", squashed */
    size_t nknown;
    bool require_known;
    pcre2_code *full, *shrt, *id;
};

static pcre2_code *re(const char *p)
{
    int ec;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)p, PCRE2_ZERO_TERMINATED,
                                  PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
    if (c)
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

#define REPORTER "([A-Z][A-Za-z.'\xe2\x80\x99 ]{0,24}?(?:\\d(?:d|th))?)"

static void known_key(const char *vol, size_t vn, const char *rep, size_t rn, const char *page,
                      size_t pn, char *out, size_t cap)
{
    char r[64];
    squash(rep, rn, r, sizeof r);
    snprintf(out, cap, "%.*s|%s|%.*s", (int)vn, vol, r, (int)pn, page);
}

static void destroy(void *state)
{
    struct cite *c = state;
    if (!c)
        return;
    for (size_t i = 0; i < c->nknown; i++)
        free(c->known[i]);
    free(c->known);
    pcre2_code_free(c->full);
    pcre2_code_free(c->shrt);
    pcre2_code_free(c->id);
    free(c);
}

/* "347 U.S. 483" -> its known-list key; false when it is not of that form. */
static bool parse_known(const char *s, char *out, size_t cap)
{
    char vol[8], page[8];
    size_t n = strlen(s), i = 0, j;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    j = i;
    while (j < n && isdigit((unsigned char)s[j]))
        j++;
    if (j == i || j - i >= sizeof vol)
        return false;
    snprintf(vol, sizeof vol, "%.*s", (int)(j - i), s + i);
    size_t e = n;
    while (e > j && isspace((unsigned char)s[e - 1]))
        e--;
    size_t p = e;
    while (p > j && isdigit((unsigned char)s[p - 1]))
        p--;
    if (p == e || e - p >= sizeof page || p <= j + 1)
        return false;
    snprintf(page, sizeof page, "%.*s", (int)(e - p), s + p);
    known_key(vol, strlen(vol), s + j, p - j, page, strlen(page), out, cap);
    return true;
}

static void *compile(const json_t *params, char *err, size_t errlen)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)params, k, v)
    {
        if (strcmp(k, "known") && strcmp(k, "require_known")) {
            snprintf(err, errlen, "%s is not a parameter of citations (known, require_known)", k);
            return NULL;
        }
    }
    struct cite *c = xcalloc(1, sizeof *c);
    const json_t *rk = json_object_get(params, "require_known");
    if (rk && !json_is_boolean(rk)) {
        snprintf(err, errlen, "require_known must be true or false");
        destroy(c);
        return NULL;
    }
    c->require_known = json_is_true(rk);
    const json_t *kn = json_object_get(params, "known");
    if (kn && !json_is_array(kn)) {
        snprintf(err, errlen, "known must be a list of citations such as \"347 U.S. 483\"");
        destroy(c);
        return NULL;
    }
    c->known = xcalloc(json_array_size(kn) + 1, sizeof *c->known);
    for (size_t i = 0; i < json_array_size(kn); i++) {
        char key[128];
        const char *s = json_string_value(json_array_get(kn, i));
        if (!s || !parse_known(s, key, sizeof key)) {
            snprintf(err, errlen, "known[%zu] must be a citation such as \"347 U.S. 483\"", i);
            destroy(c);
            return NULL;
        }
        c->known[c->nknown++] = xstrdup(key);
    }
    c->full = re("(?<![\\w.])(\\d{1,4})\\s+" REPORTER "\\s+(\\d{1,5})\\b(?!\\s*(?:-|\xc2\xa7))"
                 "(?:,\\s*(\\d{1,5})\\b)?(?:[^()\\n]{0,40}?\\(([^()\\n]{0,60}?)\\b(1[6-9]\\d\\d|"
                 "20\\d\\d)\\))?");
    c->shrt = re("(?<![\\w.])(\\d{1,4})\\s+" REPORTER "\\s+at\\s+(\\d{1,5})\\b");
    c->id = re("\\b[Ii]d\\.(?:,)?(?:\\s+at\\s+(\\d{1,5}))?");
    if (!c->full || !c->shrt || !c->id) {
        snprintf(err, errlen, "internal: a citation pattern did not compile");
        destroy(c);
        return NULL;
    }
    return c;
}

struct full {
    size_t at;
    char key[80]; /* volume|reporter */
};

static bool in_known(const struct cite *c, const json_t *meta_known, const char *key)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (!strcasecmp(c->known[i], key))
            return true;
    for (size_t i = 0; i < json_array_size(meta_known); i++) {
        char k2[128];
        const char *s = json_string_value(json_array_get(meta_known, i));
        if (s && parse_known(s, k2, sizeof k2) && !strcasecmp(k2, key))
            return true;
    }
    return false;
}

static void run(const void *state, const struct t1_trace *t, struct t1_findings *out)
{
    const struct cite *c = state;
    const char *s = t->output;
    size_t n = t->output_len;
    pcre2_match_data *md = pcre2_match_data_create(10, NULL);
    if (!md)
        abort();
    const json_t *mk = json_object_get(t->metadata, "known_citations");
    if (!json_is_array(mk))
        mk = NULL;
    bool have_known = c->nknown || json_array_size(mk);
    struct full *fulls = NULL;
    size_t nfull = 0, cap = 0, reported = 0;
    PCRE2_SIZE off = 0;
    while (off < n && reported < 64) {
        if (pcre2_match(c->full, (PCRE2_SPTR)s, n, off, 0, md, NULL) < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        const char *rep = s + ov[4];
        size_t rn = ov[5] - ov[4];
        while (rn && isspace((unsigned char)rep[rn - 1]))
            rn--;
        if (!reporter_shaped(rep, rn))
            continue;
        char sq[64];
        squash(rep, rn, sq, sizeof sq);
        bool skip = false;
        for (size_t i = 0; not_reporters[i] && !skip; i++)
            skip = !strcasecmp(sq, not_reporters[i]);
        /* law reviews and journals ("98 Harv. L. Rev. 1", "12 Yale L.J. 3") are secondary
         * sources, and "05 Civ. 9016" is a docket number: none is a case reporter */
        size_t sl = strlen(sq);
        skip = skip || strstr(sq, "L.Rev.") || strstr(sq, "L.J.") ||
               (sl >= 2 && !strcasecmp(sq + sl - 2, "J.")) ||
               (sl >= 4 && !strcasecmp(sq + sl - 4, "Rev.")) || !strcasecmp(sq, "Civ.") ||
               !strcasecmp(sq, "Cr.") || !strcasecmp(sq, "Crim.") || !strcasecmp(sq, "CV");
        if (skip)
            continue;
        long vol = strtol(s + ov[2], NULL, 10), page = strtol(s + ov[6], NULL, 10);
        long pin = ov[8] != PCRE2_UNSET ? strtol(s + ov[8], NULL, 10) : -1;
        int year = ov[12] != PCRE2_UNSET ? (int)strtol(s + ov[12], NULL, 10) : 0;
        int from, to;
        struct t1_finding *x = NULL;
        if (!cite_reporter(sq, &from, &to)) {
            x = t1_add(out, T1_FAIL, "reporter_unknown");
            t1_detail(x, "%ld %s %ld: \"%s\" is not a known case reporter", vol, sq, page, sq);
        } else if (year && (year < from || year > to)) {
            x = t1_add(out, T1_FAIL, "year_out_of_range");
            if (to == 9999)
                t1_detail(x, "%ld %s %ld (%d): %s began in %d", vol, sq, page, year, sq, from);
            else
                t1_detail(x, "%ld %s %ld (%d): %s covers %d to %d", vol, sq, page, year, sq, from,
                          to);
        } else if (pin >= 0 && pin < page) {
            x = t1_add(out, T1_FAIL, "pin_before_page");
            t1_detail(x, "%ld %s %ld, %ld: the pin cite is before the first page", vol, sq, page,
                      pin);
        } else if (have_known) {
            char key[128];
            known_key(s + ov[2], ov[3] - ov[2], rep, rn, s + ov[6], ov[7] - ov[6], key, sizeof key);
            if (!in_known(c, mk, key)) {
                x = t1_add(out, c->require_known ? T1_FAIL : T1_UNCERTAIN, "not_in_known_list");
                t1_detail(x, "%ld %s %ld is not among the known citations", vol, sq, page);
            }
        }
        if (x) {
            x->field = T1_OUTPUT;
            x->start = ov[0];
            x->end = ov[1];
            reported++;
        }
        if (nfull == cap) {
            cap = cap ? cap * 2 : 8;
            fulls = xrealloc(fulls, cap * sizeof *fulls);
        }
        fulls[nfull].at = ov[0];
        snprintf(fulls[nfull].key, sizeof fulls[nfull].key, "%ld|%s", vol, sq);
        nfull++;
    }
    /* short forms: "347 U.S. at 495" needs 347 U.S. cited in full before it */
    off = 0;
    while (off < n && reported < 64) {
        if (pcre2_match(c->shrt, (PCRE2_SPTR)s, n, off, 0, md, NULL) < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        size_t rn = ov[5] - ov[4];
        while (rn && isspace((unsigned char)s[ov[4] + rn - 1]))
            rn--;
        if (!reporter_shaped(s + ov[4], rn))
            continue;
        char sq[64], key[80];
        squash(s + ov[4], rn, sq, sizeof sq);
        snprintf(key, sizeof key, "%ld|%s", strtol(s + ov[2], NULL, 10), sq);
        bool seen = false;
        for (size_t i = 0; i < nfull && !seen; i++)
            seen = fulls[i].at < ov[0] && !strcasecmp(fulls[i].key, key);
        if (!seen) {
            struct t1_finding *x = t1_add(out, T1_UNCERTAIN, "short_form_without_full");
            x->field = T1_OUTPUT;
            x->start = ov[0];
            x->end = ov[1];
            t1_detail(x, "a short form of %s with no full citation of it before", sq);
            reported++;
        }
    }
    /* Id. refers to the citation just before it */
    off = 0;
    while (off < n && reported < 64) {
        if (pcre2_match(c->id, (PCRE2_SPTR)s, n, off, 0, md, NULL) < 0)
            break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
        bool seen = nfull && fulls[0].at < ov[0];
        if (!seen) {
            struct t1_finding *x = t1_add(out, T1_UNCERTAIN, "id_without_antecedent");
            x->field = T1_OUTPUT;
            x->start = ov[0];
            x->end = ov[1];
            t1_detail(x, "\"Id.\" with no citation before it to refer to");
            reported++;
        }
    }
    free(fulls);
    pcre2_match_data_free(md);
}

const struct t1_detector t1_detector_citations = {
    .name = "citations",
    .summary = "U.S. case citations: reporter exists, year within its editions, pin cite, short "
               "forms and Id. with an antecedent, optional list of known citations",
    .compile = compile,
    .run = run,
    .free = destroy,
};
