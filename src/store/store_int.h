/*
 * store_int.h: helpers shared by the repository files of src/store only.
 */
#ifndef AEGIS_STORE_INT_H
#define AEGIS_STORE_INT_H

#include "core/alloc.h"
#include "core/err.h"
#include "store/store.h"

#include <stdio.h>

static inline char *store_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static inline void store_copy_id(char dst[ID_UUID_LEN], const char *src)
{
    snprintf(dst, ID_UUID_LEN, "%s", src ? src : "");
}

/* Runs a statement that returns no rows: AEG_OK or the step's error. */
static inline int store_run(struct db_stmt *q)
{
    int s = db_step(q);
    return db_step_failed(s) ? s : AEG_OK;
}

/* Steps a statement expected to return at most one row: AEG_OK on a row (left current for the
 * column getters), AEG_ENOTFOUND when none, or the error. */
static inline int store_one(struct db_stmt *q)
{
    int s = db_step(q);
    return s == DB_ROW ? AEG_OK : s == DB_DONE ? AEG_ENOTFOUND : s;
}

#endif
