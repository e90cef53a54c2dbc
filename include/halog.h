/*
 * halog — a load balancer's log, in HAProxy's formats (the most widely read open ones):
 *   <state>/logs/<BALANCER>/haproxy-YYYYMMDD.log
 * each line as rsyslog writes what HAProxy sends it: "Mmm dd HH:MM:SS host haproxy[pid]: ",
 * then the message. A layer 4 balancer logs one line per connection when it ends (`option
 * tcplog`), a layer 7 one per request (`option httplog`), and both log a member's health
 * changing ("Server exchange/EX2 is DOWN, ..."). Times are UTC (mrsmock's machines run in UTC;
 * rsyslog would write local time).
 */
#ifndef MRSMOCK_HALOG_H
#define MRSMOCK_HALOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define HALOG_LINE_MAX 2048

/* What every line begins with. */
struct halog_origin {
    const char *host; /* the balancer's host name (its name in lower case) */
    unsigned pid;
    time_t now;
};

/* A connection (tcplog) or a request (httplog). Times in milliseconds; -1 prints as "-1". */
struct halog_entry {
    const char *client_ip;
    unsigned client_port;
    struct timespec accepted; /* accept date */
    const char *frontend, *backend;
    const char *server;                  /* "<NOSRV>" when no member took it */
    int64_t tq, tw, tc, tr, tt;          /* tq, tr: httplog only */
    int status;                          /* httplog: the status sent to the client */
    uint64_t bytes;                      /* bytes sent to the client */
    const char *cookie_req, *cookie_res; /* httplog: captured persistence cookie, "-" none */
    char term[5]; /* termination state: 2 characters (tcplog) or 4 (httplog), e.g. "--", "SC" */
    unsigned actconn, feconn, beconn, srv_conn, retries;
    const char *method, *uri, *version; /* httplog: the request line */
};

/* Formats a tcplog line (with its newline) into BUF; returns its length (cut to fit). */
size_t halog_tcp(char *buf, size_t len, const struct halog_origin *o, const struct halog_entry *e);
/* Formats an httplog line. */
size_t halog_http(char *buf, size_t len, const struct halog_origin *o, const struct halog_entry *e);
/* Formats "Server BACKEND/SERVER is UP|DOWN, reason: REASON, ..., N active and 0 backup servers
 * left." as HAProxy logs a health check's verdict changing. */
size_t halog_health(char *buf, size_t len, const struct halog_origin *o, const char *backend,
                    const char *server, int up, const char *reason, unsigned active_left);

#endif
