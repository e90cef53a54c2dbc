/*
 * w3c — the IIS W3C extended log format, with the field list Exchange servers keep:
 *   date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent)
 *   cs(Referer) sc-status sc-substatus sc-win32-status time-taken
 * The field list is a table compiled once; a line is rendered into a caller's buffer and handed
 * to logfile whole. Files: <state>/logs/<SERVER>/inetpub/logs/LogFiles/W3SVC1/u_exYYMMDD.log.
 */
#ifndef MRSMOCK_W3C_H
#define MRSMOCK_W3C_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One request as IIS logs it. Strings need not be NUL-terminated (pointer + length); a NULL or
 * empty string is written "-". */
struct w3c_str {
    const char *base;
    size_t len;
};

struct w3c_entry {
    struct timespec at; /* when the response was finished: IIS stamps a line then, in UTC */
    struct w3c_str s_ip, method, uri_stem, uri_query, username, c_ip, user_agent, referer;
    unsigned s_port;
    unsigned status, substatus;
    uint32_t win32_status;
    uint64_t time_taken_ms;
};

/* The maximum length of a rendered line; longer fields are cut so the line fits. */
#define W3C_LINE_MAX 8192

/* Header lines ("#Software: ...", "#Version: 1.0", "#Date: ...", "#Fields: ...") for a file
 * opened at NOW, as logf_header_cb. */
size_t w3c_header(char *buf, size_t len, time_t now);
/* Renders E as one line ending in "\r\n" into BUF (at least W3C_LINE_MAX bytes); returns its
 * length. */
size_t w3c_format(char *buf, size_t len, const struct w3c_entry *e);

/* Folder of a server's W3SVC1 log under LOGS_DIR (<state>/logs), written into BUF. */
const char *w3c_dir(char *buf, size_t len, const char *logs_dir, const char *server);
/* The same for the IIS site numbered SITE (2: "Exchange Back End", port 444, on 2013+). */
const char *w3c_site_dir(char *buf, size_t len, const char *logs_dir, const char *server,
                         unsigned site);

#endif
