/*
 * urlfilter — a firewall's URL filter on the decrypted request (urlfilter.h).
 */
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "firewall.h"
#include "gen.h"
#include "log.h"
#include "urlfilter.h"

#define URLFILTER_HANG_S 3600 /* a firewall's TCP session timeout (FortiOS: 3600 s) */
#define URLFILTER_POLL_MS 100 /* how often a held request looks whether its client left */

/* The device's page, after FortiOS's "URL Block Page" replacement message; %s: the device's
 * URL as the client asked for it, the device's name. */
static const char block_page[] =
    "<!DOCTYPE html>\n"
    "<html><head><meta charset=\"UTF-8\"><title>Web Page Blocked</title></head>\n"
    "<body><h1>Web Page Blocked!</h1>\n"
    "<p>The page you have requested has been blocked, because the URL is banned.</p>\n"
    "<p>URL: %.*s</p>\n"
    "<p>Firewall: %s</p>\n"
    "</body></html>\n";

const struct scn_url_filter *urlfilter_match(const struct scn_firewall *m, const char *path,
                                             size_t len)
{
    for (size_t i = 0; i < m->num_url_filters; i++) {
        const char *p = m->url_filters[i].path;
        size_t n = strlen(p);
        if (len < n || strncasecmp(path, p, n) != 0)
            continue;
        if (len == n || p[n - 1] == '/' || path[n] == '/')
            return &m->url_filters[i];
    }
    return NULL;
}

/* Resets the request's connection (the RST goes out at once) and ends the request without an
 * answer the client could read: it stays unanswered in the journal, in no server's log. */
static int reset(struct flow *f)
{
    h2o_req_t *req = f->req;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    struct sockaddr sa = {.sa_family = AF_UNSPEC};

    if (sock != NULL)
        (void)connect(h2o_socket_get_fd(sock), &sa, sizeof(sa));
    req->http1_is_persistent = 0;
    h2o_send_error_503(req, "Service Unavailable", "", H2O_SEND_ERROR_HTTP1_CLOSE_CONNECTION);
    return FLOW_DONE;
}

/* A held request: h2o reads nothing from its connection while a request is being handled, so
 * whether the client gave up is looked at (a peek) every URLFILTER_POLL_MS; then, or once the
 * firewall's session times out, the connection is reset and the request ends unanswered. */
static int on_hang_poll(struct flow *f)
{
    h2o_socket_t *sock = f->req->conn->callbacks->get_socket(f->req->conn);
    struct pollfd p = {.fd = sock != NULL ? h2o_socket_get_fd(sock) : -1, .events = POLLRDHUP};
    struct timeval now;

    /* POLLRDHUP: the client shut its side, whatever it sent before (a TLS close_notify) */
    if (sock == NULL || (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
        flow_why(f, "urlfilter", "the client gave up");
        return reset(f);
    }
    gettimeofday(&now, NULL);
    if (now.tv_sec - f->req->timestamps.request_begin_at.tv_sec >= URLFILTER_HANG_S) {
        flow_why(f, "urlfilter", "the firewall's session timed out: reset");
        return reset(f);
    }
    return flow_wait(f, URLFILTER_POLL_MS, on_hang_poll);
}

int urlfilter_stage(struct flow *f)
{
    struct fw *fw = f->gen->listeners[f->listener_index].fw;
    h2o_iovec_t path = f->req->path_normalized, host;
    const struct scn_firewall *m;
    const struct scn_url_filter *u;
    char info[300];

    if (fw == NULL || (m = fw_model(fw))->num_url_filters == 0)
        return FLOW_NEXT;
    if ((u = urlfilter_match(m, path.base, path.len)) == NULL) {
        flow_why(f, "urlfilter", "%s: no URL filter matches", m->name);
        return FLOW_NEXT;
    }
    snprintf(info, sizeof(info), "url-filter:%s", u->path);
    fw_log(fw, 0, f->peer_ip, f->peer_port, f->local_ip, flow_port(f, f->listener_index), 0, info);
    flow_why(f, "urlfilter", "%s: blocked by url-filter %s (action %s)", m->name, u->path,
             scn_uf_action_name(u->action));
    switch (u->action) {
    case SCN_UF_RESET:
        return reset(f);
    case SCN_UF_HANG:
        return flow_wait(f, URLFILTER_POLL_MS, on_hang_poll);
    case SCN_UF_BLOCK_PAGE:
        break;
    }
    host = flow_host(f);
    /* the URL as the client asked for it, with what HTML would read as markup left out */
    char url[1024];
    size_t k = 0;
    for (size_t i = 0; i < host.len + f->req->path.len && k < sizeof(url) - 1; i++) {
        char ch = i < host.len ? host.base[i] : f->req->path.base[i - host.len];
        if (strchr("<>&\"'", ch) == NULL)
            url[k++] = ch;
    }
    size_t cap = sizeof(block_page) + k + strlen(m->name);
    char *body = h2o_mem_alloc_pool(&f->req->pool, cap);
    int n = snprintf(body, cap, block_page, (int)k, url, m->name);
    return flow_answer(f,
                       &(struct flow_answer){.by = FLOW_BY_DEVICE,
                                             .st = IIS_STATUS(403, 0, 0),
                                             .content_type = "text/html; charset=UTF-8",
                                             .body = h2o_iovec_init(body, n > 0 ? (size_t)n : 0)});
}
