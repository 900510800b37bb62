#include "core/yaml.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

/* ---- the location table: (node, key) -> line and column, open addressing ---- */

struct loc {
    const json_t *node; /* NULL: a free slot */
    char *key;          /* NULL: where node starts; else where node's member key was written */
    int line, col;
};

struct yaml_locs {
    json_t *root; /* a reference: no node in the table is freed (its address reused) before it */
    char *path;
    struct loc *slot;
    size_t cap, used; /* cap is 0 or a power of two, and at least twice used */
};

static size_t loc_hash(const json_t *node, const char *key)
{
    uint64_t h = (uint64_t)(uintptr_t)node;
    if (key)
        for (const unsigned char *p = (const unsigned char *)key; *p; p++)
            h = (h ^ *p) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h;
}

/* The slot holding (node, key), or the free slot where it would go; NULL for an empty table. */
static struct loc *loc_find(const struct yaml_locs *t, const json_t *node, const char *key)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = loc_hash(node, key) & mask;; i = (i + 1) & mask) {
        struct loc *l = &t->slot[i];
        if (!l->node)
            return l;
        if (l->node == node && (key && l->key ? !strcmp(key, l->key) : key == l->key))
            return l;
    }
}

static void loc_grow(struct yaml_locs *t)
{
    struct loc *old = t->slot;
    size_t oldcap = t->cap;
    t->cap = oldcap ? oldcap * 2 : 64;
    t->slot = xcalloc(t->cap, sizeof *t->slot);
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].node)
            *loc_find(t, old[i].node, old[i].key) = old[i];
    free(old);
}

/* Records (or moves) a place; t may be NULL (locations not wanted). 0-based mark, 1-based table. */
static void loc_set(struct yaml_locs *t, const json_t *node, const char *key, int line, int col)
{
    if (!t || (!key && (json_is_true(node) || json_is_false(node) || json_is_null(node))))
        return;
    if ((t->used + 1) * 2 > t->cap)
        loc_grow(t);
    struct loc *l = loc_find(t, node, key);
    if (!l->node) {
        l->node = node;
        l->key = key ? xstrdup(key) : NULL;
        t->used++;
    }
    l->line = line;
    l->col = col;
}

static bool loc_get(const struct yaml_locs *t, const json_t *node, const char *key, int *line,
                    int *col)
{
    if (!t || !node)
        return false;
    const struct loc *l = loc_find(t, node, key);
    if (!l || !l->node)
        return false;
    if (line)
        *line = l->line;
    if (col)
        *col = l->col;
    return true;
}

bool yaml_where(const struct yaml_locs *locs, const json_t *value, int *line, int *col)
{
    return loc_get(locs, value, NULL, line, col);
}

bool yaml_where_key(const struct yaml_locs *locs, const json_t *object, const char *key, int *line,
                    int *col)
{
    return key && loc_get(locs, object, key, line, col);
}

const char *yaml_locs_path(const struct yaml_locs *locs)
{
    return locs ? locs->path : NULL;
}

void yaml_locs_free(struct yaml_locs *locs)
{
    if (!locs)
        return;
    for (size_t i = 0; i < locs->cap; i++)
        free(locs->slot[i].key);
    free(locs->slot);
    free(locs->path);
    json_decref(locs->root);
    free(locs);
}

/* ---- the converter: libyaml events -> jansson values ---- */

struct anchor {
    json_t *value; /* a reference held here */
    char *key;     /* the text, when the node is a scalar usable as a mapping key; else NULL */
    size_t nodes;  /* values an alias to it adds to the document */
    int height;    /* collections nested in it: 0 for a scalar, 1 for [1, 2] */
};

struct ctx {
    yaml_parser_t parser;
    const char *data;
    size_t n;
    struct yaml_locs *locs; /* NULL when the caller did not ask for locations */
    json_t *anchor_ids;     /* anchor name -> index into anchors (a redefinition replaces it) */
    struct anchor *anchors;
    size_t nanchors, anchors_alloc;
    size_t nodes; /* values built so far, alias copies included */
    bool failed;
    int line, col; /* 1-based, of the first error */
    char reason[512];
};

/* jansson reports out-of-memory as NULL; like core/alloc, that is fatal. */
static void oom(void)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"where\":\"yaml\"}\n");
    abort();
}

static json_t *must(json_t *j)
{
    if (!j)
        oom();
    return j;
}

static void fail_at(struct ctx *c, int line0, int col0, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records the first error only (later ones are its consequences). line0, col0: 0-based. */
static void fail_at(struct ctx *c, int line0, int col0, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = true;
    c->line = line0 + 1;
    c->col = col0 + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
}

#define FAIL(c, mark, ...) fail_at((c), (int)(mark)->line, (int)(mark)->column, __VA_ARGS__)

/* s (n bytes) as it may appear in a message: JSON-quoted, cut after 48 bytes on a character
 * boundary. Writes into out. */
static const char *quoted(char *out, size_t outlen, const char *s, size_t n)
{
    size_t cut = n > 48 ? 48 : n;
    while (cut < n && cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    char *head = xstrndup(s, cut); /* stops at a NUL too, which is fine for a message */
    struct buf b;
    buf_init(&b, BUF_CAP_SMALL);
    buf_add_json_str(&b, head);
    snprintf(out, outlen, "\"%s\"%s", buf_str(&b), cut < n ? "..." : "");
    buf_release(&b);
    free(head);
    return out;
}

/* The 0-based line and column (in characters) of byte off: reader errors give only an offset. */
static void offset_mark(const char *data, size_t n, size_t off, yaml_mark_t *m)
{
    size_t line = 0, col = 0;
    for (size_t i = 0; i < off && i < n; i++) {
        unsigned char ch = (unsigned char)data[i];
        if (ch == '\r' || (ch == '\n' && !(i > 0 && data[i - 1] == '\r'))) {
            line++;
            col = 0;
        } else if (ch != '\n' && (ch & 0xC0) != 0x80) {
            col++;
        }
    }
    m->index = off;
    m->line = line;
    m->column = col;
}

/* The byte at a libyaml mark (whose index counts characters, not bytes), or NULL past the end. */
static const char *mark_byte(const struct ctx *c, const yaml_mark_t *m)
{
    size_t i = 0, line = 0, col = 0;
    while (i < c->n && line < m->line) {
        char ch = c->data[i++];
        if (ch == '\n' || (ch == '\r' && !(i < c->n && c->data[i] == '\n')))
            line++;
    }
    for (; i < c->n && col < m->column; col++)
        for (i++; i < c->n && ((unsigned char)c->data[i] & 0xC0) == 0x80;)
            i++;
    return i < c->n ? c->data + i : NULL;
}

static void parser_failed(struct ctx *c)
{
    yaml_parser_t *p = &c->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    switch (p->error) {
    case YAML_MEMORY_ERROR:
        oom();
        break;
    case YAML_READER_ERROR: {
        yaml_mark_t m;
        offset_mark(c->data, c->n, p->problem_offset, &m);
        if (p->problem_value < 0)
            FAIL(c, &m, "%s", problem);
        else if (strstr(problem, "octet") || strstr(problem, "length"))
            FAIL(c, &m, "%s (byte 0x%02X): the input must be UTF-8", problem, p->problem_value);
        else
            FAIL(c, &m, "%s (U+%04X)", problem, p->problem_value);
        break;
    }
    default: {
        const char *at = mark_byte(c, &p->problem_mark);
        if (at && *at == '\t' && strstr(problem, "cannot start any token"))
            FAIL(c, &p->problem_mark,
                 "found a tab character where YAML allows only spaces (indent with spaces)");
        else if (p->context)
            FAIL(c, &p->problem_mark, "%s (%s started at line %d, column %d)", problem, p->context,
                 (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
        else
            FAIL(c, &p->problem_mark, "%s", problem);
    }
    }
}

/* The next event into ev (always safe to yaml_event_delete); -1 with the error recorded. */
static int next_event(struct ctx *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->parser, ev))
        return 0;
    parser_failed(c);
    return -1;
}

static bool count_nodes(struct ctx *c, size_t k, const yaml_mark_t *m)
{
    if (k > YAML_MAX_NODES - c->nodes) {
        FAIL(c, m, "the document would hold more than %u values once aliases are expanded",
             YAML_MAX_NODES);
        return false;
    }
    c->nodes += k;
    return true;
}

/* ---- scalars ---- */

enum word { W_NULL, W_TRUE, W_FALSE, W_NONFINITE };

static const struct {
    const char *text;
    enum word kind;
} words[] = {
    {"~", W_NULL},          {"null", W_NULL},       {"Null", W_NULL},       {"NULL", W_NULL},
    {"true", W_TRUE},       {"True", W_TRUE},       {"TRUE", W_TRUE},       {"false", W_FALSE},
    {"False", W_FALSE},     {"FALSE", W_FALSE},     {".inf", W_NONFINITE},  {".Inf", W_NONFINITE},
    {".INF", W_NONFINITE},  {"+.inf", W_NONFINITE}, {"+.Inf", W_NONFINITE}, {"+.INF", W_NONFINITE},
    {"-.inf", W_NONFINITE}, {"-.Inf", W_NONFINITE}, {"-.INF", W_NONFINITE}, {".nan", W_NONFINITE},
    {".NaN", W_NONFINITE},  {".NAN", W_NONFINITE},
};

static int digit_value(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return 99;
}

/* A core-schema integer ([-+]? then digits, 0x hex digits or 0o octal digits)? 0 when s is not one;
 * 1 with *iv when it fits int64; 2 with *dv (maybe infinite) when it does not. s[n] must be NUL. */
static int parse_int(const char *s, size_t n, json_int_t *iv, double *dv)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    unsigned base = 10;
    if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'o')) {
        base = s[i + 1] == 'x' ? 16 : 8;
        i += 2;
    }
    if (i == n)
        return 0;
    uint64_t u = 0;
    double d = 0;
    bool over = false;
    for (; i < n; i++) {
        unsigned v = (unsigned)digit_value(s[i]);
        if (v >= base)
            return 0;
        if (u > (UINT64_MAX - v) / base)
            over = true;
        else
            u = u * base + v;
        d = d * base + v;
    }
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (!over && u <= limit) {
        *iv = !neg ? (json_int_t)u : u == limit ? INT64_MIN : -(json_int_t)u;
        return 1;
    }
    *dv = base == 10 ? strtod(s, NULL) : neg ? -d : d; /* strtod rounds decimal text correctly */
    return 2;
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool is_float(const char *s, size_t n)
{
    size_t i = 0, digits = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        i++;
    for (; i < n && is_digit(s[i]); i++)
        digits++;
    if (i < n && s[i] == '.')
        for (i++; i < n && is_digit(s[i]); i++)
            digits++;
    if (!digits)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t exp = 0;
        for (; i < n && is_digit(s[i]); i++)
            exp++;
        if (!exp)
            return false;
    }
    return i == n;
}

static json_t *real_or_fail(struct ctx *c, double d, const char *s, size_t n, const yaml_mark_t *m)
{
    json_t *r = json_real(d); /* NULL for infinities and NaN, which JSON cannot hold */
    if (!r) {
        char q[320];
        FAIL(c, m, "%s is out of the range JSON numbers can hold", quoted(q, sizeof q, s, n));
    }
    return r;
}

static json_t *resolve_plain(struct ctx *c, const char *s, size_t n, const yaml_mark_t *m)
{
    if (n == 0)
        return json_null();
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strlen(words[i].text) != n || memcmp(words[i].text, s, n))
            continue;
        switch (words[i].kind) {
        case W_NULL:
            return json_null();
        case W_TRUE:
            return json_true();
        case W_FALSE:
            return json_false();
        case W_NONFINITE: {
            char q[320];
            FAIL(c, m, "%s cannot be represented in JSON (quote it to make it a string)",
                 quoted(q, sizeof q, s, n));
            return NULL;
        }
        }
    }
    json_int_t iv;
    double dv;
    switch (parse_int(s, n, &iv, &dv)) {
    case 1:
        return must(json_integer(iv));
    case 2:
        return real_or_fail(c, dv, s, n, m);
    default:
        break;
    }
    if (is_float(s, n))
        return real_or_fail(c, strtod(s, NULL), s, n, m);
    return must(json_stringn(s, n));
}

static json_t *scalar_value(struct ctx *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool forced = tag && (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!"));
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !forced)
        return resolve_plain(c, s, n, &ev->start_mark);
    json_t *j = json_stringn(s, n); /* libyaml hands out valid UTF-8; jansson checks again */
    if (!j)
        FAIL(c, &ev->start_mark, "the string is not valid UTF-8");
    return j;
}

/* ---- anchors and aliases ---- */

static void add_anchor(struct ctx *c, const char *name, json_t *value, const char *key,
                       size_t nodes, int height)
{
    if (c->nanchors == c->anchors_alloc) {
        c->anchors_alloc = c->anchors_alloc ? c->anchors_alloc * 2 : 16;
        c->anchors = xrealloc(c->anchors, c->anchors_alloc * sizeof *c->anchors);
    }
    struct anchor *a = &c->anchors[c->nanchors];
    a->value = json_incref(value);
    a->key = key ? xstrdup(key) : NULL;
    a->nodes = nodes;
    a->height = height;
    if (json_object_set_new(c->anchor_ids, name, must(json_integer((json_int_t)c->nanchors))))
        oom(); /* names are ASCII (libyaml), so only memory can fail */
    c->nanchors++;
}

static struct anchor *find_anchor(struct ctx *c, const char *name, const yaml_mark_t *m)
{
    json_t *id = json_object_get(c->anchor_ids, name);
    if (!id) {
        FAIL(c, m, "alias *%.64s refers to no anchor defined before it", name);
        return NULL;
    }
    return &c->anchors[json_integer_value(id)];
}

/* A deep copy of src, with the locations of its insides copied too. src was built under the depth
 * limit, so the recursion is bounded by YAML_MAX_DEPTH. */
static json_t *copy(struct ctx *c, json_t *src)
{
    json_t *dst;
    int line, col;
    if (json_is_object(src)) {
        dst = must(json_object());
        const char *k;
        json_t *v;
        json_object_foreach(src, k, v)
        {
            if (json_object_set_new(dst, k, copy(c, v)))
                oom();
            if (loc_get(c->locs, src, k, &line, &col))
                loc_set(c->locs, dst, k, line, col);
        }
    } else if (json_is_array(src)) {
        dst = must(json_array());
        for (size_t i = 0; i < json_array_size(src); i++)
            if (json_array_append_new(dst, copy(c, json_array_get(src, i))))
                oom();
    } else {
        dst = must(json_deep_copy(src));
    }
    if (loc_get(c->locs, src, NULL, &line, &col))
        loc_set(c->locs, dst, NULL, line, col);
    return dst;
}

static json_t *alias(struct ctx *c, const yaml_event_t *ev, int depth, int *height)
{
    const char *name = (const char *)ev->data.alias.anchor;
    struct anchor *a = find_anchor(c, name, &ev->start_mark);
    if (!a)
        return NULL;
    if (depth + a->height > YAML_MAX_DEPTH) {
        FAIL(c, &ev->start_mark, "alias *%.64s would nest collections deeper than %d levels", name,
             YAML_MAX_DEPTH);
        return NULL;
    }
    if (!count_nodes(c, a->nodes, &ev->start_mark))
        return NULL;
    json_t *v = copy(c, a->value);
    loc_set(c->locs, v, NULL, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1);
    *height = a->height;
    return v;
}

/* ---- collections ---- */

static json_t *node(struct ctx *c, const yaml_event_t *ev, int depth, int *height);

/* The key a mapping key event names, as a fresh string; NULL with the error recorded. */
static char *key_text(struct ctx *c, const yaml_event_t *ev)
{
    if (ev->type == YAML_ALIAS_EVENT) {
        const char *name = (const char *)ev->data.alias.anchor;
        struct anchor *a = find_anchor(c, name, &ev->start_mark);
        if (!a)
            return NULL;
        if (!a->key) {
            FAIL(c, &ev->start_mark,
                 "alias *%.64s cannot be a mapping key: keys must be scalars without NUL bytes",
                 name);
            return NULL;
        }
        return xstrdup(a->key);
    }
    if (ev->type != YAML_SCALAR_EVENT) {
        FAIL(c, &ev->start_mark, "mapping keys must be scalars, not %s",
             ev->type == YAML_MAPPING_START_EVENT ? "mappings" : "sequences");
        return NULL;
    }
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (memchr(s, '\0', n)) {
        FAIL(c, &ev->start_mark, "mapping keys cannot contain NUL characters");
        return NULL;
    }
    if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !strcmp(s, "<<")) {
        FAIL(c, &ev->start_mark,
             "merge keys (<<) are not supported: write the keys out, or quote \"<<\" for a string");
        return NULL;
    }
    if (ev->data.scalar.anchor) {
        json_t *v = scalar_value(c, ev);
        if (!v)
            return NULL;
        add_anchor(c, (const char *)ev->data.scalar.anchor, v, s, 1, 0);
        json_decref(v);
    }
    return xstrdup(s);
}

static json_t *sequence(struct ctx *c, int level, int *height)
{
    json_t *arr = must(json_array());
    *height = 1;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev))
            goto fail;
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return arr;
        }
        int h = 0;
        json_t *item = node(c, &ev, level, &h);
        yaml_event_delete(&ev);
        if (!item)
            goto fail;
        if (json_array_append_new(arr, item))
            oom();
        if (h + 1 > *height)
            *height = h + 1;
    }
fail:
    json_decref(arr);
    return NULL;
}

static json_t *mapping(struct ctx *c, int level, int *height)
{
    json_t *obj = must(json_object());
    yaml_mark_t *marks = NULL; /* where each key was written, in insertion order */
    size_t nmarks = 0, marks_alloc = 0;
    char *key = NULL;
    *height = 1;
    for (;;) {
        yaml_event_t ev;
        if (next_event(c, &ev))
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            free(marks);
            return obj;
        }
        key = key_text(c, &ev);
        yaml_mark_t km = ev.start_mark;
        yaml_event_delete(&ev);
        if (!key)
            goto fail;
        if (json_object_get(obj, key)) {
            /* jansson iterates in insertion order, the order of marks */
            size_t i = 0;
            const char *k;
            json_t *v;
            json_object_foreach(obj, k, v)
            {
                if (!strcmp(k, key))
                    break;
                i++;
            }
            char q[320];
            FAIL(c, &km, "duplicate key %s (first at line %d, column %d)",
                 quoted(q, sizeof q, key, strlen(key)), (int)marks[i].line + 1,
                 (int)marks[i].column + 1);
            goto fail;
        }
        if (next_event(c, &ev))
            goto fail;
        int h = 0;
        json_t *value = node(c, &ev, level, &h);
        yaml_event_delete(&ev);
        if (!value)
            goto fail;
        if (json_object_set_new(obj, key, value)) {
            FAIL(c, &km, "the key is not valid UTF-8");
            goto fail;
        }
        loc_set(c->locs, obj, key, (int)km.line + 1, (int)km.column + 1);
        free(key);
        key = NULL;
        if (nmarks == marks_alloc) {
            marks_alloc = marks_alloc ? marks_alloc * 2 : 8;
            marks = xrealloc(marks, marks_alloc * sizeof *marks);
        }
        marks[nmarks++] = km;
        if (h + 1 > *height)
            *height = h + 1;
    }
fail:
    free(key);
    free(marks);
    json_decref(obj);
    return NULL;
}

/* Builds the node ev starts, consuming the events up to its end (ev itself stays the caller's).
 * depth counts the collections around it. Returns a new reference with *height set, or NULL with
 * the error recorded. */
static json_t *node(struct ctx *c, const yaml_event_t *ev, int depth, int *height)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *anchor = NULL;
    size_t before = c->nodes;
    json_t *v;
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        return alias(c, ev, depth, height);
    case YAML_SCALAR_EVENT:
        if (!count_nodes(c, 1, m) || !(v = scalar_value(c, ev)))
            return NULL;
        *height = 0;
        anchor = (const char *)ev->data.scalar.anchor;
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth + 1 > YAML_MAX_DEPTH) {
            FAIL(c, m, "collections are nested deeper than %d levels", YAML_MAX_DEPTH);
            return NULL;
        }
        if (!count_nodes(c, 1, m))
            return NULL;
        if (ev->type == YAML_SEQUENCE_START_EVENT) {
            v = sequence(c, depth + 1, height);
            anchor = (const char *)ev->data.sequence_start.anchor;
        } else {
            v = mapping(c, depth + 1, height);
            anchor = (const char *)ev->data.mapping_start.anchor;
        }
        if (!v)
            return NULL;
        break;
    default: /* libyaml only gives these four here */
        FAIL(c, m, "unexpected YAML event %d", (int)ev->type);
        return NULL;
    }
    loc_set(c->locs, v, NULL, (int)m->line + 1, (int)m->column + 1);
    if (anchor) {
        const char *key = NULL; /* a scalar can later stand as a key through an alias */
        if (ev->type == YAML_SCALAR_EVENT &&
            !memchr(ev->data.scalar.value, '\0', ev->data.scalar.length))
            key = (const char *)ev->data.scalar.value;
        add_anchor(c, anchor, v, key, c->nodes - before, *height);
    }
    return v;
}

/* The one document of the stream (JSON null when there is none); NULL with the error recorded. */
static json_t *document(struct ctx *c)
{
    yaml_event_t ev;
    json_t *root = NULL;
    if (next_event(c, &ev)) /* stream start */
        goto out;
    yaml_event_delete(&ev);
    if (next_event(c, &ev))
        goto out;
    if (ev.type == YAML_STREAM_END_EVENT) {
        yaml_event_delete(&ev);
        return json_null();
    }
    yaml_event_delete(&ev); /* document start */
    if (next_event(c, &ev))
        goto out;
    int height;
    root = node(c, &ev, 0, &height);
    yaml_event_delete(&ev);
    if (!root)
        goto out;
    if (next_event(c, &ev)) /* document end */
        goto out;
    yaml_event_delete(&ev);
    if (next_event(c, &ev))
        goto out;
    if (ev.type != YAML_STREAM_END_EVENT)
        FAIL(c, &ev.start_mark, "a second document starts here; only one is allowed");
    yaml_event_delete(&ev);
out:
    if (c->failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

static int parse(const char *data, size_t n, const char *path, json_t **out,
                 struct yaml_locs **locs, char *err, size_t errlen)
{
    *out = NULL;
    if (locs)
        *locs = NULL;
    if (!data) {
        data = "";
        n = 0;
    }
    struct ctx c;
    memset(&c, 0, sizeof c);
    if (!yaml_parser_initialize(&c.parser))
        oom();
    yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING); /* no UTF-16 guessing */
    yaml_parser_set_input_string(&c.parser, (const unsigned char *)data, n);
    c.data = data;
    c.n = n;
    c.anchor_ids = must(json_object());
    if (locs) {
        c.locs = xcalloc(1, sizeof *c.locs);
        c.locs->path = path ? xstrdup(path) : NULL;
    }

    json_t *root = document(&c);

    for (size_t i = 0; i < c.nanchors; i++) {
        json_decref(c.anchors[i].value);
        free(c.anchors[i].key);
    }
    free(c.anchors);
    json_decref(c.anchor_ids);
    yaml_parser_delete(&c.parser);
    if (!root) {
        yaml_locs_free(c.locs);
        if (err && errlen) {
            if (path)
                snprintf(err, errlen, "%s:%d:%d: %s", path, c.line, c.col, c.reason);
            else
                snprintf(err, errlen, "line %d, column %d: %s", c.line, c.col, c.reason);
        }
        return AEG_EINVAL;
    }
    if (locs) {
        c.locs->root = json_incref(root);
        *locs = c.locs;
    }
    *out = root;
    return AEG_OK;
}

int yaml_parse_locs(const char *data, size_t n, json_t **out, struct yaml_locs **locs, char *err,
                    size_t errlen)
{
    return parse(data, n, NULL, out, locs, err, errlen);
}

int yaml_parse(const char *data, size_t n, json_t **out, char *err, size_t errlen)
{
    return parse(data, n, NULL, out, NULL, err, errlen);
}

int yaml_parse_file_locs(const char *path, json_t **out, struct yaml_locs **locs, char *err,
                         size_t errlen)
{
    *out = NULL;
    if (locs)
        *locs = NULL;
    if (!err)
        errlen = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return AEG_EIO;
    }
    struct buf b;
    buf_init(&b, YAML_MAX_FILE);
    char chunk[16384];
    size_t got;
    int rc = AEG_OK;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_add(&b, chunk, got)) {
            if (errlen)
                snprintf(err, errlen, "%s: larger than %u MiB", path, YAML_MAX_FILE >> 20);
            rc = AEG_EINVAL;
            goto out;
        }
    }
    if (ferror(f)) {
        if (errlen)
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = AEG_EIO;
        goto out;
    }
    rc = parse(b.data, b.len, path, out, locs, err, errlen);
out:
    fclose(f);
    buf_release(&b);
    return rc;
}

int yaml_parse_file(const char *path, json_t **out, char *err, size_t errlen)
{
    return yaml_parse_file_locs(path, out, NULL, err, errlen);
}
