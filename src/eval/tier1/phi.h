/*
 * phi: the Tier-1 detector of protected health information (the 18 HIPAA Safe Harbor identifiers
 * of 45 CFR 164.514(b)(2)) in the texts of a trace, and the scanner the anonymiser and the server
 * call directly.
 *
 * phi_compile validates the spec's params (entities, fields, allow) and compiles every pattern once
 * with PCRE2 JIT; the compiled state is read-only afterwards, so phi_scan and the detector's run
 * may be called from many threads at once. A scan appends findings (label = entity type such as
 * "NAME", "DATE", "PHONE"; a byte span into the scanned text; T1_FAIL when the identifier is
 * certain: a strong pattern, strong context or a value from metadata.patient; T1_UNCERTAIN for a
 * weaker cue such as a capitalised pair that may be a name). Pure: no I/O, no global mutable state.
 * The caller owns the findings list; the compiled state is freed with phi_free.
 */
#ifndef AEGIS_EVAL_TIER1_PHI_H
#define AEGIS_EVAL_TIER1_PHI_H

#include "eval/tier1/t1.h"

#include <jansson.h>
#include <stddef.h>

enum phi_label {
    PHI_NAME,
    PHI_GEO,
    PHI_ZIP,
    PHI_DATE,
    PHI_AGE_OVER_89,
    PHI_PHONE,
    PHI_FAX,
    PHI_EMAIL,
    PHI_SSN,
    PHI_MRN,
    PHI_HEALTH_PLAN,
    PHI_ACCOUNT,
    PHI_LICENSE,
    PHI_VEHICLE,
    PHI_DEVICE,
    PHI_URL,
    PHI_IP,
    PHI_BIOMETRIC,
    PHI_PHOTO,
    PHI_OTHER_ID,
    PHI_NLABELS
};

/* The label as findings carry it ("NAME", "AGE_OVER_89", ...); "" for an out-of-range value. */
const char *phi_label_name(enum phi_label l);
/* The label with that exact (upper-case) name, or -1 when there is none. */
int phi_label_find(const char *name);

struct phi;

/* Compiles params (an object; NULL is taken as {}): "entities" (array of label names, default
 * all), "fields" (array of "output"/"input", default ["output"]), "allow" (array of literal strings
 * never flagged). Returns the state, or NULL with err naming the bad parameter. */
struct phi *phi_compile(const json_t *params, char *err, size_t errlen);
void phi_free(struct phi *p); /* NULL is allowed */

/* Scans text[0, len) (need not be NUL-terminated; any bytes) and appends one finding per PHI
 * occurrence, in text order, with field and byte span set (a finding contained in another at
 * least as bad is dropped). The detail names the label, the reason and the span, never the
 * identifier itself. metadata (may be NULL) is the trace's metadata object:
 * exact occurrences of the string values of metadata.patient are certain PHI; a metadata.patient
 * that is not an object becomes one T1_UNCERTAIN finding "metadata_unreadable" on T1_METADATA
 * (path "$.patient"; once per trace when the detector scans both fields). The allow list and
 * entities filter of the compiled params apply; the fields param does not (the caller chose the
 * text). Returns the number of findings appended (0 for a NULL compiled state or text). */
int phi_scan(const struct phi *compiled, const char *text, size_t len, const json_t *metadata,
             enum t1_field field, struct t1_findings *out);

extern const struct t1_detector t1_detector_phi;

#endif
