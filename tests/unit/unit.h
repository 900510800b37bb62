/*
 * unit.h: small helpers shared by the unit tests (temporary directories, files). Header-only so
 * every test stays one executable built from one source file.
 */
#ifndef AEGIS_TESTS_UNIT_H
#define AEGIS_TESTS_UNIT_H

#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"

/* A fresh directory under $TMPDIR (or /tmp); the path is written into out. */
static inline void unit_tmpdir(char *out, size_t outlen, const char *tag)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(out, outlen, "%s/aegis-unit-%s-XXXXXX", base, tag);
    assert_non_null(mkdtemp(out));
}

/* rm -r path (files and directories below it; no symlink following needed for our own temp dirs).
 */
static inline void unit_rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            unit_rmtree(sub);
        else
            unlink(sub);
    }
    closedir(d);
    rmdir(path);
}

/* Writes text to dir/name; the full path goes into out. */
static inline void unit_write_file(const char *dir, const char *name, const char *text, char *out,
                                   size_t outlen)
{
    snprintf(out, outlen, "%s/%s", dir, name);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

/* Reads a whole file into an xmalloc'ed NUL-terminated string (the caller frees it). */
static inline char *unit_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 4096, n = 0;
    char *s = xmalloc(cap);
    size_t r;
    while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            s = xrealloc(s, cap);
        }
    }
    fclose(f);
    s[n] = '\0';
    return s;
}

#endif
