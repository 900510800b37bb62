#include "eval/tier1/t1.h"

#include "core/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t1_finding *t1_add(struct t1_findings *f, enum t1_verdict verdict, const char *label)
{
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        f->v = xrealloc(f->v, f->cap * sizeof *f->v);
    }
    struct t1_finding *x = &f->v[f->n++];
    memset(x, 0, sizeof *x);
    x->verdict = verdict;
    snprintf(x->label, sizeof x->label, "%s", label ? label : "");
    return x;
}

void t1_detail(struct t1_finding *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->detail, sizeof x->detail, fmt, ap);
    va_end(ap);
}

void t1_findings_release(struct t1_findings *f)
{
    free(f->v);
    f->v = NULL;
    f->n = f->cap = 0;
}

void t1_findings_clear(struct t1_findings *f)
{
    f->n = 0;
}

enum t1_verdict t1_worst(const struct t1_findings *f, size_t from)
{
    enum t1_verdict w = T1_PASS;
    for (size_t i = from; i < f->n; i++)
        if (f->v[i].verdict > w)
            w = f->v[i].verdict;
    return w;
}

const char *t1_verdict_name(enum t1_verdict v)
{
    return v == T1_FAIL ? "fail" : v == T1_UNCERTAIN ? "uncertain" : "pass";
}
