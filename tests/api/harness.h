/*
 * harness: runs the real `aegis serve` for API tests. Each server gets a fresh temporary directory
 * (its SQLite database, its logs, its working directory, so no developer .env leaks in), a free
 * loopback port, and an environment of AEGIS_* settings the test chooses. Requests go through libcurl;
 * raw sockets are there for what curl will not do (lying Content-Length, slow bodies).
 */
#ifndef AEGIS_TESTS_API_HARNESS_H
#define AEGIS_TESTS_API_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct srv {
    pid_t pid;
    int port;
    char dir[256];
    char env[32][512]; /* KEY=VALUE given to every server start and CLI run */
    int nenv;
    int starts;        /* how many times started (logs are app.N.log, access.N.log) */
};

struct resp {
    long status;
    char *body;
    size_t len;
    json_t *json;  /* parsed body when it is JSON, else NULL */
    char *headers; /* raw response header block */
};

/* Prepares a server: temp dir, port, default environment plus `extra` ("K=V" strings, NULL-ended).
 * Does not start it. */
void srv_init(struct srv *s, const char *const *extra);
/* Adds or replaces one KEY=VALUE for later starts and CLI runs. */
void srv_setenv(struct srv *s, const char *kv);
/* Starts `aegis serve` and waits (up to 20 s) until /healthz answers. Returns 0, or -1 if it exited
 * (its exit status is then in *status when not NULL). */
int srv_start(struct srv *s, int *status);
/* Sends sig and waits for the exit; returns the exit code (or 128+signal). */
int srv_stop(struct srv *s, int sig);
/* srv_stop for a server a group teardown stops: a non-zero exit (a sanitizer report in the server,
 * a failed drain) is printed and counted in srv_exit_failures, which main adds to cmocka's result
 * (cmocka does not fail a run whose group teardown fails). */
void srv_stop_group(struct srv *s);
extern int srv_exit_failures;
/* Removes the temporary directory. */
void srv_cleanup(struct srv *s);
/* Path of a file in the server's directory. */
void srv_path(const struct srv *s, const char *name, char *out, size_t outlen);
/* Reads a whole file of the server's directory (caller frees), NULL when missing. */
char *srv_read(const struct srv *s, const char *name);

/* Runs `aegis ARGS...` (NULL-ended) with the server's environment, in its directory. Captures stdout
 * (and stderr into *err when err is not NULL; caller frees both). Returns the exit code. */
int srv_cli(const struct srv *s, char **out, char **err, ...);

/* A job as `aegis jobs show ID` prints it (new reference), or NULL. */
json_t *srv_job(const struct srv *s, const char *id);
/* For wait_until: true when the job's state is `want`. */
struct jobcheck {
    const struct srv *s;
    const char *id;
    const char *want;
};
bool srv_job_in_state(void *jobcheck);
/* Enqueues through the CLI and copies the new job id into id (37 bytes). */
void srv_enqueue(const struct srv *s, char id[64], const char *kind, const char *payload,
                 const char *max_attempts);

/* One HTTP request. headers: "Name: value" strings, NULL-ended (may be NULL). body may be NULL.
 * Returns 0 (r filled) or -1 on a transport error. */
int req(const struct srv *s, const char *method, const char *path, const char *const *headers,
        const char *body, struct resp *r);
void resp_free(struct resp *r);
/* Value of a response header (case-insensitive name), copied into out; false when absent. */
bool resp_header(const struct resp *r, const char *name, char *out, size_t outlen);
/* Asserts r is the JSON error shape with this status and code and a request_id. */
void assert_error(const struct resp *r, long status, const char *code);

/* Raw socket: connect to the server; -1 on failure. */
int raw_connect(const struct srv *s);
/* Sends all of data; -1 on failure. */
int raw_send(int fd, const char *data);
/* Reads until the peer closes or timeout_ms passes; returns bytes read (caller frees *out). */
size_t raw_recv_all(int fd, int timeout_ms, char **out);

/* Environment for fast signups and logins in tests: Argon2id at its smallest cost. */
#define FAST_ARGON2 "AEGIS_ARGON2_MEMORY_KIB=1024", "AEGIS_ARGON2_ITERATIONS=1"

/* A test's own server (settings of its own): started by own_init, killed and removed by
 * own_teardown (a cmocka teardown) even when the test fails. */
extern struct srv srv_own;
void own_init(const char *const *extra);
int own_teardown(void **state);

/* A member of a JSON document by dotted path ("error.message"), borrowed; NULL when absent. */
json_t *jget(json_t *o, const char *path);
const char *jstr(json_t *o, const char *path); /* the string there, or NULL */
const char *err_message(const struct resp *r); /* error.message of an error answer, or "" */

/* Milliseconds slept in a loop until fn(arg) is true or timeout_ms passes; -1 on timeout. */
long wait_until(bool (*fn)(void *), void *arg, long timeout_ms);
void sleep_ms(long ms);

#endif
