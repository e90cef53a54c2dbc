/*
 * fwlog — pfirewall.log lines (fwlog.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fwlog.h"
#include "log.h"
#include "util.h"

size_t fwlog_header(char *buf, size_t len, time_t now)
{
    static const char h[] = "#Version: 1.5\r\n"
                            "#Software: Microsoft Windows Firewall\r\n"
                            "#Time Format: Local\r\n"
                            "#Fields: date time action protocol src-ip dst-ip src-port dst-port "
                            "size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\r\n"
                            "\r\n";
    UNUSED(now);
    if (len < sizeof(h))
        return 0;
    memcpy(buf, h, sizeof(h) - 1);
    return sizeof(h) - 1;
}

size_t fwlog_line(char *buf, size_t len, const struct fwlog_entry *e)
{
    struct tm tm;
    char info[128];
    size_t i;
    int n;

    for (i = 0; i < sizeof(info) - 1 && e->info[i] != '\0'; i++)
        info[i] = e->info[i] == ' ' || e->info[i] == '\t' ? '_' : e->info[i];
    info[i] = '\0';
    util_gmtime(e->now, &tm);
    n = snprintf(buf, len,
                 "%04d-%02d-%02d %02d:%02d:%02d %s TCP %s %s %u %u 0 %s 0 0 0 - - %s RECEIVE\r\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 e->allow ? "ALLOW" : "DROP", e->src_ip, e->dst_ip, e->src_port, e->dst_port,
                 e->syn ? "S" : "-", info[0] != '\0' ? info : "-");
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}
