/*
 * firewall — source-address rules at accept, and the firewall's log (firewall.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "firewall.h"
#include "fwlog.h"
#include "log.h"
#include "logfile.h"
#include "util.h"

struct fw {
    const struct scn_firewall *m;
    struct logf *log;
};

static size_t header(char *buf, size_t len, time_t now, const void *arg)
{
    UNUSED(arg);
    return fwlog_header(buf, len, now);
}

struct fw *fw_new(const struct scn_listener *l, const char *logs_dir, char *err, size_t errlen)
{
    struct fw *f = calloc(1, sizeof(*f));
    char dir[1024];

    if (f == NULL)
        fatalx("out of memory");
    f->m = l->firewall;
    snprintf(dir, sizeof(dir), "%s/%s", logs_dir, f->m->name);
    /* one file, as Windows keeps it, renamed to pfirewall.log.old when full, with its header
     * written when the file is made: after a reload (a new generation, a new policy) the lines
     * go on below what is there */
    struct logf_spec spec = {.pattern = "pfirewall.log",
                             .period = LOGF_SIZE,
                             .header = header,
                             .max_bytes = (uint64_t)f->m->log_kb * 1024,
                             .old_suffix = ".old"};
    if ((f->log = logf_open_spec(dir, &spec, time(NULL), err, errlen)) == NULL) {
        free(f);
        return NULL;
    }
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

const struct scn_sni_filter *fw_sni_filter_for(const struct scn_firewall *m, const char *name)
{
    for (size_t i = 0; i < m->num_sni_filters && name != NULL; i++)
        if (util_host_matches(m->sni_filters[i].host, name))
            return &m->sni_filters[i];
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
