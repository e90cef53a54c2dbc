/*
 * urlfilter — a firewall's URL filter on the decrypted request (urlfilter.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firewall.h"
#include "gen.h"
#include "log.h"
#include "urlfilter.h"

#define URLFILTER_HANG_S 3600 /* a firewall's TCP session timeout (FortiOS: 3600 s) */

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
    for (size_t i = 0; i < m->num_url_filters; i++)
        if (scn_path_covers(m->url_filters[i].path, path, len))
            return &m->url_filters[i];
    return NULL;
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
        return flow_drop(f, 1);
    case SCN_UF_HANG:
        /* until the client gives up, or the firewall's session times out: then a reset */
        return flow_hold(f, "urlfilter", URLFILTER_HANG_S);
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
