/*
 * log: JSON-lines logging. One process-wide logger (configured once at start) with two streams:
 * the application log (events with a level) and the access log (one line per HTTP request, written by
 * http/). Application log lines are written at once, each with a single write(2), so lines from
 * concurrent threads never interleave. Access log lines are buffered in memory and written in batches by
 * a writer thread (every 100 ms, or sooner when 64 KiB are waiting): one system call per request would
 * cost a fifth of the server's throughput. log_flush() writes what is waiting; a crash can lose the
 * last 100 ms of access lines, never the application log.
 * Secrets must never be passed to the logger: callers log ids and prefixes, not keys, tokens or passwords.
 */
#ifndef AEGIS_CORE_LOG_H
#define AEGIS_CORE_LOG_H

#include <jansson.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Parses "debug|info|warn|error|off"; returns -1 when unknown. */
int log_level_parse(const char *s);
/* Sets the minimum level and the file descriptors (-1 disables a stream). Not thread-safe: call once
 * before threads start. Defaults: info, app log on stderr, access log on stdout. */
void log_setup(enum log_level min, int app_fd, int access_fd);
int log_access_fd(void);
bool log_enabled(enum log_level lvl);

/* Logs {"ts","level","event","msg"} with msg formatted printf-style. */
void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs {"ts","level","event", ...fields}; takes the reference to `fields` (a JSON object, may be NULL). */
void log_json(enum log_level lvl, const char *event, json_t *fields);
/* Queues one complete line (the caller includes the trailing newline) for the access log. */
void log_access_line(const char *line, size_t len);
/* Writes every queued access line now (called at shutdown and at exit). */
void log_flush(void);

#endif
