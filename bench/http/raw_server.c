/*
 * raw_server: the baseline of bench/http. A bare libmicrohttpd server in the same mode as aegis (epoll,
 * internal thread pool) answering every request with a fixed small JSON body, and nothing else: no
 * routing, no request ids, no logging, no metrics. Usage: raw_server PORT THREADS
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char body[] = "{\"status\":\"ok\"}";

/*
 * Answered at the second call, as aegis does: libmicrohttpd (0.9.75) closes the connection after a
 * response queued at the first call (headers only), so answering there would cost every request a new
 * TCP connection (Connection: close) and make the baseline far slower than aegis.
 */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    static int seen; /* any non-NULL marker: "headers already processed" */
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (*con_cls == NULL) {
        *con_cls = &seen;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* a body (not sent by the benchmark): read and drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(sizeof body - 1, (void *)body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: raw_server PORT THREADS\n");
        return 2;
    }
    int port = (int)strtol(argv[1], NULL, 10), threads = (int)strtol(argv[2], NULL, 10);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGINT);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_TURBO, (uint16_t)port, NULL, NULL, on_request,
        NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "raw_server: cannot listen on port %d\n", port);
        return 1;
    }
    int sig;
    sigwait(&s, &sig);
    MHD_stop_daemon(d);
    return 0;
}
