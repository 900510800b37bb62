/*
 * dosage: the healthcare detector for doses in an output. Finds dosing statements ("take 1000 mg
 * of acetaminophen every 4 hours", "ibuprofen 800mg three times daily", "2 tablets (500 mg each)
 * up to 4 times a day", "15 mg/kg", "metformin 2 g per day"), attributes each amount to the drug
 * named nearest it in its sentence (or the sentence before), normalises units (g, mg, mcg) and
 * frequencies (every N hours, qNh, N times a day, BID/TID/QID, once/twice daily), and checks the
 * per-dose and per-day amounts against a table of common drugs' adult maxima (dosage_table in
 * dosage.c), and weight-based limits when metadata.patient.weight_kg (or weight with weight_unit
 * lb|kg) is given for a child (age_years < 12) or a light patient (< 50 kg).
 *
 * Amounts stated as limits or warnings are not doses: an amount preceded within six words by
 * "exceed", "more than", "maximum", "not", "never", "over", "above"... is skipped, so "do not
 * exceed 4,000 mg a day" passes. Findings (FAIL): dose_above_max, daily_above_max,
 * weight_based_above_max; UNCERTAIN dose_unparsed for a mg/kg dose without a weight. Params:
 * extra_drugs (list of {name, aliases, max_dose_mg, max_daily_mg, per_kg_dose_mg,
 * per_kg_daily_mg}).
 *
 * Pure, thread-safe.
 */
#ifndef AEGIS_EVAL_TIER1_DOSAGE_H
#define AEGIS_EVAL_TIER1_DOSAGE_H

#include "eval/tier1/t1.h"

extern const struct t1_detector t1_detector_dosage;

#endif
