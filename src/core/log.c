#include "core/log.h"

#include "core/alloc.h"
#include "core/buf.h"
#include "core/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int app_fd = 2;
static int acc_fd = 1;

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

int log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_OFF; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

/* Access log batching: lines go into `pending` under `mu`; the writer thread swaps it with `spare`
 * and writes outside the lock, so request threads never wait on the disk. `wmu` keeps batches in
 * order when log_flush() and the writer run at once. */
#define ACC_FLUSH_BYTES (64u * 1024)
#define ACC_MAX_BYTES (4u * 1024 * 1024) /* past this a request thread writes itself: bounded memory */
#define ACC_FLUSH_MS 100

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct buf pending = {NULL, 0, 0, ACC_MAX_BYTES};
static struct buf spare = {NULL, 0, 0, ACC_MAX_BYTES};
static bool writer_started;
static pthread_t writer;

static void write_all(int fd, const char *p, size_t n);

/* Takes what is pending and writes it. Called with neither lock held. */
static void drain(void)
{
    pthread_mutex_lock(&wmu);
    pthread_mutex_lock(&mu);
    struct buf out = pending;
    pending = spare;
    spare = out;
    buf_reset(&pending);
    pthread_mutex_unlock(&mu);
    if (spare.len && acc_fd >= 0)
        write_all(acc_fd, spare.data, spare.len);
    buf_reset(&spare);
    pthread_mutex_unlock(&wmu);
}

static void *writer_main(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&mu);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += ACC_FLUSH_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pending.len < ACC_FLUSH_BYTES)
            pthread_cond_timedwait(&cv, &mu, &until);
        pthread_mutex_unlock(&mu);
        drain();
    }
    return NULL;
}

void log_flush(void)
{
    drain();
}

void log_setup(enum log_level min, int afd, int accfd)
{
    min_level = min;
    app_fd = afd;
    acc_fd = accfd;
    if (accfd >= 0 && !writer_started) {
        writer_started = true;
        pthread_create(&writer, NULL, writer_main, NULL);
        pthread_detach(writer);
        atexit(log_flush);
    }
}

int log_access_fd(void)
{
    return acc_fd;
}

bool log_enabled(enum log_level lvl)
{
    return lvl >= min_level && lvl < LOG_OFF && app_fd >= 0;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* a log that cannot be written must not take the server down */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void emit(enum log_level lvl, const char *event, const char *msg, json_t *fields)
{
    char ts[CLOCK_ISO_LEN];
    struct buf b;
    buf_init(&b, BUF_CAP_LINE);
    buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",\"event\":\"", clock_fmt_iso(clock_now_ms(), ts),
               level_names[lvl]);
    buf_add_json_str(&b, event);
    buf_addc(&b, '"');
    if (msg) {
        buf_adds(&b, ",\"msg\":\"");
        buf_add_json_str(&b, msg);
        buf_addc(&b, '"');
    }
    if (fields && json_is_object(fields) && json_object_size(fields) > 0) {
        char *f = json_dumps(fields, JSON_COMPACT);
        if (f && f[0] == '{') {
            buf_addc(&b, ',');
            buf_add(&b, f + 1, strlen(f) - 2); /* splice the members in */
        }
        free(f);
    }
    buf_adds(&b, "}\n");
    write_all(app_fd, b.data, b.len);
    buf_release(&b);
}

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
    if (!log_enabled(lvl))
        return;
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= sizeof small) {
        char *big = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        emit(lvl, event, big, NULL);
        free(big);
        return;
    }
    emit(lvl, event, small, NULL);
}

void log_json(enum log_level lvl, const char *event, json_t *fields)
{
    if (log_enabled(lvl))
        emit(lvl, event, NULL, fields);
    json_decref(fields);
}

void log_access_line(const char *line, size_t len)
{
    if (acc_fd < 0)
        return;
    if (!writer_started) { /* no writer (tests, tools): write through */
        write_all(acc_fd, line, len);
        return;
    }
    pthread_mutex_lock(&mu);
    int full = buf_add(&pending, line, len);
    if (!full && pending.len >= ACC_FLUSH_BYTES)
        pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    if (full) { /* the disk is behind by megabytes: write it out here rather than grow */
        drain();
        pthread_mutex_lock(&mu);
        if (buf_add(&pending, line, len))
            write_all(acc_fd, line, len); /* a single line larger than the cap */
        pthread_mutex_unlock(&mu);
    }
}
