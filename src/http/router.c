/*
 * router: matches a method and a path against the route table. Patterns are '/'-separated segments,
 * each a literal or a {name} parameter that matches one non-empty segment. The table is small and
 * scanned in order; a literal segment costs one memcmp, so a scan is cheaper than building a trie.
 */
#include "http/http.h"

#include "core/alloc.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Next segment of s (after a '/'), as [*seg, *seg + *len); returns the rest, or NULL at the end. */
static const char *next_seg(const char *s, const char **seg, size_t *len)
{
    if (*s != '/')
        return NULL;
    s++;
    const char *e = strchr(s, '/');
    *seg = s;
    *len = e ? (size_t)(e - s) : strlen(s);
    return s + *len;
}

static bool is_param(const char *seg, size_t len)
{
    return len >= 3 && seg[0] == '{' && seg[len - 1] == '}';
}

/* Matches path against pattern; fills params when m is not NULL. */
static bool match(const char *pattern, const char *path, struct route_match *m)
{
    const char *p = pattern, *q = path;
    int np = 0;
    if (!strcmp(pattern, "/") || !strcmp(path, "/"))
        return !strcmp(pattern, path);
    for (;;) {
        if (!*p && !*q)
            break;
        if (!*p || !*q)
            goto fail;
        const char *ps = NULL, *qs = NULL;
        size_t pl = 0, ql = 0;
        p = next_seg(p, &ps, &pl);
        q = next_seg(q, &qs, &ql);
        if (!p || !q)
            goto fail;
        if (is_param(ps, pl)) {
            if (ql == 0)
                goto fail;
            if (m && np < ROUTE_MAX_PARAMS) {
                m->names[np] = ps + 1;
                m->name_len[np] = pl - 2;
                m->values[np] = xstrndup(qs, ql);
                np++;
            }
        } else if (pl != ql || memcmp(ps, qs, pl) != 0) {
            goto fail;
        }
    }
    if (m)
        m->nparams = np;
    return true;
fail:
    if (m) {
        for (int i = 0; i < np; i++) {
            free(m->values[i]);
            m->values[i] = NULL;
        }
        m->nparams = 0;
    }
    return false;
}

static bool method_is(const char *route_method, const char *method)
{
    if (!strcmp(route_method, method))
        return true;
    return !strcmp(method, "HEAD") && !strcmp(route_method, "GET");
}

static void allow_add(char *allow, size_t cap, const char *method)
{
    /* keep the list unique */
    size_t ml = strlen(method);
    for (const char *a = allow; (a = strstr(a, method)); a += ml)
        if ((a == allow || a[-1] == ' ') && (a[ml] == ',' || a[ml] == '\0'))
            return;
    size_t n = strlen(allow);
    snprintf(allow + n, cap - n, "%s%s", n ? ", " : "", method);
}

int route_find(const struct route *routes, size_t n, const char *method, const char *path,
               struct route_match *m)
{
    memset(m, 0, sizeof *m);
    bool path_seen = false;
    for (size_t i = 0; i < n; i++) {
        if (method_is(routes[i].method, method)) {
            if (match(routes[i].pattern, path, m))
                return (int)i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (match(routes[i].pattern, path, NULL)) {
            path_seen = true;
            allow_add(m->allow, sizeof m->allow, routes[i].method);
            if (!strcmp(routes[i].method, "GET"))
                allow_add(m->allow, sizeof m->allow, "HEAD");
        }
    }
    if (path_seen)
        allow_add(m->allow, sizeof m->allow, "OPTIONS");
    return path_seen ? ROUTE_BAD_METHOD : ROUTE_NO_MATCH;
}

void route_match_release(struct route_match *m)
{
    for (int i = 0; i < m->nparams; i++)
        free(m->values[i]);
    m->nparams = 0;
}

int route_table_check(const struct route *routes, size_t n, char *err, size_t errlen)
{
    static const char *methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    for (size_t i = 0; i < n; i++) {
        const struct route *r = &routes[i];
        bool known = false;
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
            known |= !strcmp(r->method, methods[k]);
        if (!known || !r->handler || r->pattern[0] != '/') {
            snprintf(err, errlen, "route %s %s: bad method, handler or pattern", r->method,
                     r->pattern);
            return AEG_EINVAL;
        }
        int params = 0;
        const char *p = r->pattern, *seg;
        size_t len;
        while (strcmp(r->pattern, "/") && (p = next_seg(p, &seg, &len))) {
            if (len == 0 || (memchr(seg, '{', len) && !is_param(seg, len))) {
                snprintf(err, errlen, "route %s %s: empty or malformed segment", r->method,
                         r->pattern);
                return AEG_EINVAL;
            }
            params += is_param(seg, len);
        }
        if (params > ROUTE_MAX_PARAMS) {
            snprintf(err, errlen, "route %s %s: too many parameters", r->method, r->pattern);
            return AEG_EINVAL;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(routes[j].method, r->method) && !strcmp(routes[j].pattern, r->pattern)) {
                snprintf(err, errlen, "route %s %s is listed twice", r->method, r->pattern);
                return AEG_EINVAL;
            }
        }
    }
    return AEG_OK;
}
