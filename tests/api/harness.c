#include "harness.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "core/buf.h"

extern char **environ;

void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

long wait_until(bool (*fn)(void *), void *arg, long timeout_ms)
{
    long t0 = now_ms();
    for (;;) {
        if (fn(arg))
            return now_ms() - t0;
        if (now_ms() - t0 > timeout_ms)
            return -1;
        sleep_ms(25);
    }
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t l = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &l))
        return -1;
    close(fd);
    return ntohs(a.sin_port);
}

void srv_setenv(struct srv *s, const char *kv)
{
    size_t klen = strcspn(kv, "=");
    for (int i = 0; i < s->nenv; i++) {
        if (!strncmp(s->env[i], kv, klen) && s->env[i][klen] == '=') {
            snprintf(s->env[i], sizeof s->env[i], "%s", kv);
            return;
        }
    }
    assert_true(s->nenv < 32);
    snprintf(s->env[s->nenv++], sizeof s->env[0], "%s", kv);
}

void srv_init(struct srv *s, const char *const *extra)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/aegis-api-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    s->port = free_port();
    assert_true(s->port > 0);
    char kv[512];
    srv_setenv(s, "AEGIS_ENV=development");
    srv_setenv(s, "AEGIS_HOST=127.0.0.1");
    snprintf(kv, sizeof kv, "AEGIS_PORT=%d", s->port);
    srv_setenv(s, kv);
    snprintf(kv, sizeof kv, "AEGIS_DATABASE_URL=sqlite://%s/aegis.db", s->dir);
    srv_setenv(s, kv);
    snprintf(kv, sizeof kv, "AEGIS_WEB_DIR=%s/web", AEGIS_SOURCE_DIR);
    srv_setenv(s, kv);
    srv_setenv(s, "AEGIS_THREADS=2");
    srv_setenv(s, "AEGIS_JOB_POLL_MS=50");
    srv_setenv(s, "AEGIS_LOG_LEVEL=debug");
    for (int i = 0; extra && extra[i]; i++)
        srv_setenv(s, extra[i]);
}

/* The child's environment: ours without any AEGIS_/Stripe/LLM setting, then the server's. */
static char **child_env(const struct srv *s, const char *access_log)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + (size_t)s->nenv + 3, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (!strncmp(e, "AEGIS_", 6) || !strncmp(e, "STRIPE_", 7) || !strncmp(e, "OPENAI_", 7) ||
            !strncmp(e, "ANTHROPIC_", 10))
            continue;
        env[k++] = xstrdup(e);
    }
    for (int i = 0; i < s->nenv; i++)
        env[k++] = xstrdup(s->env[i]);
    if (access_log)
        env[k++] = xasprintf("AEGIS_ACCESS_LOG=%s", access_log);
    env[k] = NULL;
    return env;
}

static void free_env(char **env)
{
    for (size_t i = 0; env[i]; i++)
        free(env[i]);
    free(env);
}

void srv_path(const struct srv *s, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", s->dir, name);
}

static bool healthy(void *arg)
{
    struct srv *s = arg;
    int st;
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
        s->pid = -(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st)) - 1;
        return true;
    }
    struct resp r;
    if (req(s, "GET", "/healthz", NULL, NULL, &r) != 0)
        return false;
    bool ok = r.status == 200;
    resp_free(&r);
    return ok;
}

int srv_start(struct srv *s, int *status)
{
    s->starts++;
    char app[400], acc[400];
    snprintf(app, sizeof app, "%s/app.%d.log", s->dir, s->starts);
    snprintf(acc, sizeof acc, "%s/access.%d.log", s->dir, s->starts);
    char **env = child_env(s, acc);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that dies takes its server with it */
        int fd = open(app, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        if (chdir(s->dir) != 0)
            _exit(127);
        char *argv[] = {(char *)AEGIS_BIN, (char *)"serve", NULL};
        execve(AEGIS_BIN, argv, env);
        _exit(127);
    }
    free_env(env);
    s->pid = pid;
    long waited = wait_until(healthy, s, 20000);
    if (s->pid < 0) {
        if (status)
            *status = -(s->pid + 1);
        s->pid = 0;
        return -1;
    }
    if (waited < 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        fail_msg("aegis serve did not answer /healthz within 20 s (see %s)", app);
    }
    return 0;
}

int srv_stop(struct srv *s, int sig)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, sig);
    int st = 0;
    /* bounded: a server that does not exit in 60 s is killed and the test fails */
    for (int i = 0; i < 6000; i++) {
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        sleep_ms(10);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = 0;
    fail_msg("server did not exit within 60 s of signal %d", sig);
    return -1;
}

int srv_exit_failures;

void srv_stop_group(struct srv *s)
{
    int rc = srv_stop(s, 15);
    if (rc != 0) {
        fprintf(stderr, "the shared test server exited with %d (see its log in %s)\n", rc, s->dir);
        srv_exit_failures++;
    }
}

void srv_cleanup(struct srv *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (getenv("AEGIS_KEEP_TEST_DIRS"))
        return;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s->dir);
}

char *srv_read(const struct srv *s, const char *name)
{
    char path[400];
    srv_path(s, name, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b;
    buf_init(&b, 1u << 30);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    return buf_detach(&b, NULL);
}

static char *read_fd(int fd)
{
    struct buf b;
    buf_init(&b, 64u << 20);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0)
            buf_add(&b, chunk, (size_t)n);
    return buf_detach(&b, NULL);
}

int srv_cli(const struct srv *s, char **out, char **err, ...)
{
    char *argv[32] = {(char *)AEGIS_BIN};
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (const char *a; argc < 31 && (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    char errpath[400];
    srv_path(s, "cli.stderr", errpath, sizeof errpath);
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    char **env = child_env(s, "off");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 1);
        close(pipefd[0]);
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        if (chdir(s->dir) != 0)
            _exit(127);
        execve(AEGIS_BIN, argv, env);
        _exit(127);
    }
    free_env(env);
    close(pipefd[1]);
    char *o = read_fd(pipefd[0]);
    close(pipefd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = srv_read(s, "cli.stderr");
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

json_t *srv_job(const struct srv *s, const char *id)
{
    char *out = NULL;
    int rc = srv_cli(s, &out, NULL, "jobs", "show", id, NULL);
    json_t *j = rc == 0 ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

bool srv_job_in_state(void *arg)
{
    struct jobcheck *c = arg;
    json_t *j = srv_job(c->s, c->id);
    const char *st = json_string_value(json_object_get(j, "state"));
    bool yes = st && !strcmp(st, c->want);
    json_decref(j);
    return yes;
}

void srv_enqueue(const struct srv *s, char id[64], const char *kind, const char *payload,
                 const char *max_attempts)
{
    char *out = NULL;
    int rc = max_attempts
                 ? srv_cli(s, &out, NULL, "jobs", "enqueue", kind, payload, "--max-attempts",
                           max_attempts, NULL)
                 : srv_cli(s, &out, NULL, "jobs", "enqueue", kind, payload, NULL);
    assert_int_equal(rc, 0);
    snprintf(id, 64, "%.36s", out);
    free(out);
}

/* ---- curl ----------------------------------------------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    buf_add(arg, p, size * n);
    return size * n;
}

int req(const struct srv *s, const char *method, const char *path, const char *const *headers,
        const char *body, struct resp *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[600];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s->port, path);
    struct buf b, h;
    buf_init(&b, 256u << 20);
    buf_init(&h, 1u << 20);
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        buf_release(&b);
        buf_release(&h);
        return -1;
    }
    r->len = b.len;
    r->body = buf_detach(&b, NULL);
    r->headers = buf_detach(&h, NULL);
    json_error_t e;
    r->json = json_loadb(r->body, r->len, JSON_DECODE_ANY, &e);
    return 0;
}

void resp_free(struct resp *r)
{
    free(r->body);
    free(r->headers);
    json_decref(r->json);
    memset(r, 0, sizeof *r);
}

bool resp_header(const struct resp *r, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *line = r->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)(line + len - v), v);
            return true;
        }
        line = end ? end + 2 : line + len;
    }
    return false;
}

void assert_error(const struct resp *r, long status, const char *code)
{
    if (r->status != status)
        fail_msg("expected status %ld, got %ld: %s", status, r->status, r->body ? r->body : "");
    assert_non_null(r->json);
    json_t *e = json_object_get(r->json, "error");
    assert_true(json_is_object(e));
    assert_string_equal(json_string_value(json_object_get(e, "code")), code);
    assert_true(json_is_string(json_object_get(e, "type")));
    assert_true(json_string_length(json_object_get(e, "message")) > 0);
    const char *rid = json_string_value(json_object_get(e, "request_id"));
    assert_non_null(rid);
    char hdr[200];
    assert_true(resp_header(r, "X-Request-Id", hdr, sizeof hdr));
    assert_string_equal(hdr, rid);
}

/* ---- raw sockets ----------------------------------------------------------------------------------- */

int raw_connect(const struct srv *s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int raw_send(int fd, const char *data)
{
    size_t n = strlen(data);
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t raw_recv_all(int fd, int timeout_ms, char **out)
{
    struct buf b;
    buf_init(&b, 16u << 20);
    long deadline = now_ms() + timeout_ms;
    for (;;) {
        long left = deadline - now_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr <= 0)
            break;
        char chunk[4096];
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0)
            break;
        buf_add(&b, chunk, (size_t)n);
    }
    size_t len = b.len;
    *out = buf_detach(&b, NULL);
    return len;
}

/* ---- shared by the test files ------------------------------------------------------------------- */

struct srv srv_own;
static bool own_used;

void own_init(const char *const *extra)
{
    srv_init(&srv_own, extra);
    own_used = true;
    assert_int_equal(srv_start(&srv_own, NULL), 0);
}

int own_teardown(void **state)
{
    (void)state;
    if (own_used)
        srv_cleanup(&srv_own); /* kills the server if a failed test left it running */
    own_used = false;
    return 0;
}

json_t *jget(json_t *o, const char *path)
{
    char name[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(name, sizeof name, "%.*s", (int)n, path);
        o = json_object_get(o, name);
        path += n;
        if (*path == '.')
            path++;
    }
    return o;
}

const char *jstr(json_t *o, const char *path)
{
    return json_string_value(jget(o, path));
}

const char *err_message(const struct resp *r)
{
    const char *m = jstr(r->json, "error.message");
    return m ? m : "";
}
