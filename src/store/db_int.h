/*
 * db_int.h: what a database backend implements. Shared by db.c and the backends only.
 */
#ifndef AEGIS_STORE_DB_INT_H
#define AEGIS_STORE_DB_INT_H

#include "store/db.h"

struct db_ops {
    const char *name;
    int (*open)(const char *url, struct db **out, char *err, size_t errlen);
    void (*close)(struct db *db);
    const char *(*errmsg)(struct db *db);
    int (*exec)(struct db *db, const char *sql);
    int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
    int (*bind_text)(struct db_stmt *st, int idx, const char *s);
    int (*bind_int64)(struct db_stmt *st, int idx, int64_t v);
    int (*bind_double)(struct db_stmt *st, int idx, double v);
    int (*bind_null)(struct db_stmt *st, int idx);
    int (*step)(struct db_stmt *st);
    const char *(*col_text)(struct db_stmt *st, int col);
    int64_t (*col_int64)(struct db_stmt *st, int col);
    double (*col_double)(struct db_stmt *st, int col);
    bool (*col_is_null)(struct db_stmt *st, int col);
    int64_t (*changes)(struct db_stmt *st);
    int (*reset)(struct db_stmt *st);
    void (*finalize)(struct db_stmt *st);
    const char *begin_write_sql;
};

/* Every backend's connection and statement start with these headers. */
struct db {
    const struct db_ops *ops;
    enum db_backend backend;
};
struct db_stmt {
    const struct db_ops *ops;
};

extern const struct db_ops db_sqlite_ops;

#endif
