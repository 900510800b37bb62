/*
 * migrate: versioned schema migrations. The SQL files of migrations/ are compiled into the binary
 * (build/generated/migrations.c); each applied version is recorded in schema_migrations with the SHA-256
 * of its text, so an edited migration is caught instead of silently diverging. Each migration runs in its
 * own transaction: a failing one leaves the database at the previous version. Never sees HTTP types.
 */
#ifndef AEGIS_STORE_MIGRATE_H
#define AEGIS_STORE_MIGRATE_H

#include "store/db.h"

struct migration {
    int version;
    const char *name;
    const char *sql;
};

extern const struct migration store_migrations[];
extern const int store_migrations_n;

struct migrate_status {
    int latest;      /* highest version in the binary */
    int current;     /* highest version applied */
    int pending;     /* versions in the binary not yet applied */
    int unknown;     /* applied versions this binary does not know (a newer binary ran) */
    int mismatched;  /* applied versions whose recorded checksum differs from the binary's text */
};

/* Reads the state without changing anything. AEG_OK, or AEG_EDB with the reason in err. */
int migrate_status(struct db *db, struct migrate_status *st, char *err, size_t errlen);
/* Applies every pending migration in order; *applied counts them. Refuses (AEG_ECONFLICT) when a
 * recorded checksum differs. On failure the database stays at the last migration that succeeded. */
int migrate_apply(struct db *db, int *applied, char *err, size_t errlen);

#endif
