/*
 * firewall — source-address rules at accept, and the firewall's log (firewall.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "firewall.h"
#include "fwlog.h"
#include "gen.h"
#include "handshake.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

struct fw {
    const struct scn_firewall *m;
    struct logf *log;
};

static size_t header_none(char *buf, size_t len, time_t now)
{
    UNUSED(buf), UNUSED(len), UNUSED(now);
    return 0;
}

struct fw *fw_new(const struct scn_listener *l, const char *logs_dir, char *err, size_t errlen)
{
    struct fw *f = calloc(1, sizeof(*f));
    char dir[1024], path[1100], head[512];
    struct stat st;
    time_t now = time(NULL);
    int fresh;
    size_t n;

    if (f == NULL)
        fatalx("out of memory");
    f->m = l->firewall;
    snprintf(dir, sizeof(dir), "%s/%s", logs_dir, f->m->name);
    snprintf(path, sizeof(path), "%s/pfirewall.log", dir);
    /* one file, as Windows keeps it (it renames a full one to pfirewall.log.old: not done),
     * with its header written once, when the file is made: after a reload (a new generation,
     * a new policy) the lines go on below what is there */
    fresh = stat(path, &st) != 0 || st.st_size == 0;
    if ((f->log = logf_open(dir, "pfirewall.log", header_none, now, err, errlen)) == NULL) {
        free(f);
        return NULL;
    }
    if (fresh && (n = fwlog_header(head, sizeof(head), now)) != 0)
        logf_write(f->log, head, n, now);
    return f;
}

void fw_free(struct fw *f)
{
    if (f == NULL)
        return;
    logf_close(f->log);
    free(f);
}

const struct scn_firewall *fw_model(const struct fw *f)
{
    return f->m;
}

const struct scn_fw_rule *fw_rule_for(const struct scn_firewall *m, const char *ip)
{
    for (size_t i = 0; i < m->num_rules; i++)
        for (size_t k = 0; k < m->rules[i].num_sources; k++)
            if (scn_cidr_match(&m->rules[i].sources[k], ip))
                return &m->rules[i];
    return NULL;
}

void fw_log(struct fw *f, int allow, const char *src_ip, unsigned src_port, const char *dst_ip,
            unsigned dst_port, int syn, const char *info)
{
    char line[FWLOG_LINE_MAX];
    struct fwlog_entry e = {.now = time(NULL),
                            .allow = allow,
                            .src_ip = src_ip,
                            .dst_ip = dst_ip,
                            .src_port = src_port,
                            .dst_port = dst_port,
                            .syn = syn,
                            .info = info};
    size_t n = fwlog_line(line, sizeof(line), &e);

    if (n != 0)
        logf_write(f->log, line, n, e.now);
}

enum conn_result fw_conn_stage(struct conn *c, h2o_socket_t *sock)
{
    struct fw *f = c->gen->listeners[c->listener].fw;
    const struct scn_fw_rule *r;
    enum scn_fw_action act;
    const char *rule;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (f == NULL)
        return CONN_NEXT;
    r = fw_rule_for(f->m, c->peer_ip);
    act = r != NULL ? r->action : f->m->def;
    rule = r != NULL ? r->name : "default";
    fw_log(f, act == SCN_FW_ALLOW || act == SCN_FW_HANG, c->peer_ip, c->peer_port, c->local_ip,
           c->gen->listeners[c->listener].port, act == SCN_FW_DROP || act == SCN_FW_RESET, rule);
    if (act == SCN_FW_HANG)
        snprintf(c->why, sizeof(c->why),
                 "firewall: %s let the connection from %s through (rule %s), then held it "
                 "without an answer",
                 f->m->name, c->peer_ip, rule);
    else
        snprintf(c->why, sizeof(c->why), "firewall: %s %s the connection from %s (rule %s)%s",
                 f->m->name, act == SCN_FW_RESET ? "reset" : "dropped", c->peer_ip, rule,
                 act == SCN_FW_DROP ? ": held, never answered" : "");
    switch (act) {
    case SCN_FW_ALLOW:
        c->why[0] = '\0'; /* what comes after says how it ended */
        return CONN_NEXT;
    case SCN_FW_RESET:
        setsockopt(h2o_socket_get_fd(sock), SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        h2o_socket_close(sock);
        return CONN_DONE;
    case SCN_FW_DROP:
    case SCN_FW_HANG:
        hs_hold(c->worker->hs, sock);
        return CONN_DONE;
    }
    return CONN_DONE;
}
