/*
 * admin_dashboard — the dashboard on the admin listener: its page, style and script (the files
 * of dashboard/, built into the binary: nothing to install, nothing loaded from elsewhere), and
 * the routes it reads besides the journal's: the topology, the bundled scenarios, the lab CA.
 *
 * The three files are open to anyone who may reach the listener, without the token: a browser
 * that navigates to the page cannot send a header, and they hold nothing of the lab. The page
 * takes the token from its URL's fragment (never sent to a server, so never logged) or a
 * prompt, and sends it as the API expects, a bearer token.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "admin_int.h"
#include "balancer.h"
#include "gen.h"
#include "lab.h"
#include "log.h"
#include "pki.h"
#include "scenario.h"
#include "util.h"

#define CA_MAX (64u << 10) /* the lab CA's PEM is about a kilobyte */

/* dashboard/<file>, each between <sym> and <sym>_end (not NUL-terminated). */
#define ASSET(sym, file)                                                                           \
    __asm__(".section .rodata\n"                                                                   \
            ".global " #sym "\n" #sym ":\n"                                                        \
            ".incbin \"dashboard/" file "\"\n"                                                     \
            ".global " #sym "_end\n" #sym "_end:\n"                                                \
            ".previous\n")
ASSET(admin_dash_html, "index.html");
ASSET(admin_dash_css, "dashboard.css");
ASSET(admin_dash_js, "dashboard.js");
extern const char admin_dash_html[], admin_dash_html_end[], admin_dash_css[], admin_dash_css_end[],
    admin_dash_js[], admin_dash_js_end[];

static const struct asset {
    const char *path;
    const char *type;
    const char *start, *end;
} assets[] = {
    {"/", "text/html; charset=utf-8", admin_dash_html, admin_dash_html_end},
    {"/dashboard.css", "text/css; charset=utf-8", admin_dash_css, admin_dash_css_end},
    {"/dashboard.js", "text/javascript; charset=utf-8", admin_dash_js, admin_dash_js_end},
};

static void on_asset(h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;

    for (size_t i = 0; i < COUNTOF(assets); i++) {
        const struct asset *a = &assets[i];
        if (!h2o_memis(path.base, path.len, a->path, strlen(a->path)))
            continue;
        req->res.status = 200;
        req->res.reason = "OK";
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
                       a->type, strlen(a->type));
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
                       H2O_STRLIT("no-store"));
        h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"),
                              0, "X-Content-Type-Options", H2O_STRLIT("nosniff"));
        /* nothing from elsewhere, no inline script: the page works on a closed network */
        h2o_add_header_by_str(
            &req->pool, &req->res.headers, H2O_STRLIT("content-security-policy"), 0,
            "Content-Security-Policy",
            H2O_STRLIT("default-src 'self'; img-src 'self' data:; "
                       "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"));
        req->res.content_length = (size_t)(a->end - a->start);
        h2o_send_inline(req, a->start, (size_t)(a->end - a->start));
        return;
    }
    admin_error(req, 404, "no such file");
}

/* --- the topology -------------------------------------------------------------------------- */

/* Adds what the running balancers know now to the model's JSON: arrivals, each member's
 * verdict at the next one. */
static void add_live(json_t *topo, const struct gen *g)
{
    json_t *listeners = json_object_get(topo, "listeners");

    for (size_t i = 0; i < g->scn->num_listeners; i++) {
        const struct lb *b = g->listeners[i].lb;
        json_t *bj = json_object_get(json_array_get(listeners, i), "balancer");
        json_t *members = json_object_get(bj, "members");
        if (b == NULL || bj == NULL)
            continue;
        json_object_set_new(bj, "arrivals", json_integer((json_int_t)lb_arrivals(b)));
        for (size_t m = 0; m < json_array_size(members); m++) {
            struct lb_member_now now;
            lb_member_now(b, m, &now);
            json_object_set_new(json_array_get(members, m), "now",
                                json_pack("{s:b, s:b, s:s, s:i}", "up", now.up, "offline",
                                          now.offline, "reason", now.reason, "active",
                                          (int)now.active));
        }
    }
}

static void on_topology(h2o_req_t *req)
{
    time_t loaded;
    struct gen *g = lab_acquire(NULL, 0, &loaded);
    unsigned *ports = calloc(g->scn->num_listeners + 1, sizeof(*ports));

    if (ports == NULL)
        fatalx("out of memory");
    for (size_t i = 0; i < g->scn->num_listeners; i++)
        ports[i] = g->listeners[i].port;
    /* certificates are issued when the scenario is loaded: their dates count from then */
    json_t *topo = admin_topology_json(g->scn, ports, loaded);
    add_live(topo, g);
    free(ports);
    gen_unref(g);
    admin_reply(req, 200, topo);
}

/* --- the bundled scenarios ----------------------------------------------------------------- */

static int is_xml(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".xml") == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void on_scenarios(h2o_req_t *req)
{
    const char *dir = scn_bundled_dir();
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, is_xml, by_name);
    char path[PATH_MAX];
    json_t *list = json_array();
    struct gen *g = lab_acquire(NULL, 0, NULL);

    if (n < 0) {
        gen_unref(g);
        json_decref(list);
        admin_error(req, 500, "cannot read the bundled scenarios' folder: %s", strerror(errno));
        return;
    }
    for (int i = 0; i < n; i++) {
        struct scn_errors errs = {0};
        struct scn *s;
        size_t len = strlen(ents[i]->d_name) - 4;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        /* a broken bundled file is listed with its errors rather than hidden */
        if ((s = scn_load(path, &errs)) == NULL) {
            json_array_append_new(
                list, json_pack("{s:s%, s:n, s:s, s:b}", "name", ents[i]->d_name, len, "summary",
                                "error", errs.text != NULL ? errs.text : "", "current", 0));
        } else {
            json_array_append_new(list, json_pack("{s:s%, s:s, s:b}", "name", ents[i]->d_name, len,
                                                  "summary", s->summary, "current",
                                                  strcmp(s->name, g->scn->name) == 0));
            scn_unref(s);
        }
        scn_errors_free(&errs);
        free(ents[i]);
    }
    free(ents);
    json_t *o = json_pack("{s:s, s:o}", "current", g->scn->name, "scenarios", list);
    gen_unref(g);
    admin_reply(req, 200, o);
}

/* --- the lab CA ---------------------------------------------------------------------------- */

static void on_ca(h2o_req_t *req)
{
    const char *path = pki_ca_path(lab_pki());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *buf;
    ssize_t n;

    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || (size_t)st.st_size > CA_MAX) {
        admin_error(req, 500, "cannot read the lab CA: %s", fd < 0 ? strerror(errno) : "its size");
        if (fd >= 0)
            close(fd);
        return;
    }
    buf = h2o_mem_alloc_pool(&req->pool, (size_t)st.st_size);
    n = read(fd, buf, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        admin_error(req, 500, "cannot read the lab CA");
        return;
    }
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, "Content-Type",
                   H2O_STRLIT("application/x-pem-file"));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_DISPOSITION,
                   "Content-Disposition",
                   H2O_STRLIT("attachment; filename=\"mrsmock-lab-ca.crt\""));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, "Cache-Control",
                   H2O_STRLIT("no-store"));
    req->res.content_length = (size_t)n;
    h2o_send_inline(req, buf, (size_t)n);
}

const struct admin_route admin_dashboard_routes[] = {
    {"GET", "/", on_asset, 1},
    {"GET", "/dashboard.css", on_asset, 1},
    {"GET", "/dashboard.js", on_asset, 1},
    {"GET", "/topology", on_topology, 0},
    {"GET", "/scenarios", on_scenarios, 0},
    {"GET", "/ca", on_ca, 0},
};
const size_t admin_dashboard_num_routes = COUNTOF(admin_dashboard_routes);
