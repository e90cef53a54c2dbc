/*
 * httperr — the error log of HTTP.sys (reference 7.2; KB 820729, "Format of the HTTP Server API
 * Error Logs"): one line per request or connection that HTTP.sys itself ended — a 503 for a
 * stopped application pool, an idle connection timed out, a client gone, a request it could not
 * parse — which then has no IIS line. Files:
 *   <state>/logs/<SERVER>/Windows/System32/LogFiles/HTTPERR/httperr1.log, httperr2.log, ...
 * the next one begun when the current one would pass 1 MB (ErrorLogFileTruncateSize).
 *
 * The field list is a table compiled once; a line is rendered in one pass into the caller's
 * buffer and handed to logfile whole. What a line says (which reason, whether the request was
 * parsed far enough to have a version, a verb and a URI) is the caller's to decide; this module
 * writes it the way HTTP.sys does: UTC, "-" for what is absent, a space, a tab or a control
 * character inside a field as "+". Each field has its bound (the verb 255 bytes and the URI 4096,
 * as HTTP.sys cuts them), so a line never exceeds HTTPERR_LINE_MAX whatever a client sends.
 *
 * HTTP.sys writes a header block when it first logs after it starts, not when it starts: the
 * #Date of each block in public logs is the time of the line under it [derived]. The stage that
 * writes these lines should therefore open the log at its first line, not at start-up.
 */
#ifndef MRSMOCK_HTTPERR_H
#define MRSMOCK_HTTPERR_H

#include <stddef.h>
#include <time.h>

struct logf;

/* s-reason: why HTTP.sys ended the request or the connection. The tokens are KB 820729's. */
enum httperr_reason {
    HTTPERR_REASON_APP_OFFLINE,                      /* AppOffline: 503, rapid-fail protection */
    HTTPERR_REASON_APP_POOL_TIMER,                   /* AppPoolTimer: 503, pool too busy */
    HTTPERR_REASON_APP_SHUTDOWN,                     /* AppShutdown: 503, shut down by policy */
    HTTPERR_REASON_BAD_REQUEST,                      /* BadRequest: 400, a parse error */
    HTTPERR_REASON_CLIENT_RESET,                     /* Client_Reset: gone before a worker had it */
    HTTPERR_REASON_CONNECTION_ABANDONED_BY_APP_POOL, /* Connection_Abandoned_By_AppPool */
    HTTPERR_REASON_CONNECTION_ABANDONED_BY_REQ_QUEUE, /* Connection_Abandoned_By_ReqQueue:
                                                         worker died with requests queued */
    HTTPERR_REASON_CONNECTION_DROPPED,           /* Connection_Dropped: gone before the response */
    HTTPERR_REASON_CONNECTION_DROPPED_LIST_FULL, /* Connection_Dropped_List_Full */
    HTTPERR_REASON_CONN_LIMIT,                   /* ConnLimit: 503, site connection limit */
    HTTPERR_REASON_CONNECTIONS_REFUSED,          /* Connections_Refused: NonPagedPool low */
    HTTPERR_REASON_DISABLED,                     /* Disabled: 503, pool stopped by an admin */
    HTTPERR_REASON_ENTITY_TOO_LARGE,             /* EntityTooLarge */
    HTTPERR_REASON_FIELD_LENGTH,                 /* FieldLength */
    HTTPERR_REASON_FORBIDDEN,                    /* Forbidden */
    HTTPERR_REASON_HEADER,                       /* Header */
    HTTPERR_REASON_HOSTNAME,                     /* Hostname */
    HTTPERR_REASON_INTERNAL,                     /* Internal: 500 */
    HTTPERR_REASON_INVALID_CR_LF,                /* Invalid_CR/LF */
    HTTPERR_REASON_LENGTH_REQUIRED,              /* LengthRequired */
    HTTPERR_REASON_N_A,                          /* N/A: 503, internal error */
    HTTPERR_REASON_N_I,                          /* N/I: 501, or 503 for a transfer encoding */
    HTTPERR_REASON_NUMBER,                       /* Number */
    HTTPERR_REASON_PRECONDITION,                 /* Precondition */
    HTTPERR_REASON_QUEUE_FULL,                   /* QueueFull: 503 */
    HTTPERR_REASON_REQUEST_LENGTH,               /* RequestLength */
    HTTPERR_REASON_TIMER_APP_POOL,               /* Timer_AppPool */
    HTTPERR_REASON_TIMER_CONNECTION_IDLE,        /* Timer_ConnectionIdle: idle keep-alive */
    HTTPERR_REASON_TIMER_ENTITY_BODY,            /* Timer_EntityBody */
    HTTPERR_REASON_TIMER_HEADER_WAIT,            /* Timer_HeaderWait */
    HTTPERR_REASON_TIMER_MIN_BYTES_PER_SECOND,   /* Timer_MinBytesPerSecond: slow reader */
    HTTPERR_REASON_TIMER_REQ_QUEUE,              /* Timer_ReqQueue */
    HTTPERR_REASON_TIMER_RESPONSE,               /* Timer_Response: reserved */
    HTTPERR_REASON_TIMER_SSL_RENEGOTIATION,      /* Timer_SslRenegotiation */
    HTTPERR_REASON_URL,                          /* URL */
    HTTPERR_REASON_URL_LENGTH,                   /* URL_Length */
    HTTPERR_REASON_VERB,                         /* Verb */
    HTTPERR_REASON_VERSION_N_S,                  /* Version_N/S: 505 */
    HTTPERR_NREASONS,
};

/* A string that need not be NUL-terminated; NULL or empty is written "-". */
struct httperr_str {
    const char *base;
    size_t len;
};

/* One line of the log. A connection-level line (Timer_ConnectionIdle) has only the addresses,
 * the reason and "-" for the rest. */
struct httperr_entry {
    struct timespec at;      /* when HTTP.sys logged it; written in UTC */
    struct httperr_str c_ip; /* "52.100.1.20", or IPv6 with its scope id: "fe80::1%4" */
    unsigned c_port;
    struct httperr_str s_ip;
    unsigned s_port;
    struct httperr_str version; /* "HTTP/1.1"; "HTTP/?.?" for a major or minor of 10 and more;
                                   empty: not parsed that far */
    struct httperr_str method;  /* as received; cut at 255 bytes */
    struct httperr_str uri;     /* path and query as received; cut at 4096 bytes */
    unsigned status;            /* sc-status; 0 (or above 999): "-" */
    unsigned site_id;           /* s-siteid once the request was routed to a site (1 = Default
                                   Web Site; documented as always "-", IIS 7+ shows the number
                                   [unconfirmed]); 0: "-" */
    enum httperr_reason reason;
    struct httperr_str queue_name; /* s-queuename, the application pool's request queue
                                      ("MSExchangeServicesAppPool"); empty: "-" */
};

/* The longest line httperr_format() renders, CRLF included. */
#define HTTPERR_LINE_MAX 8192
/* ErrorLogFileTruncateSize's default (and least) value: the size of a file. */
#define HTTPERR_FILE_MAX (1024 * 1024)

/* The token of R ("Timer_ConnectionIdle"), or NULL for a value outside the enum. */
const char *httperr_reason_name(enum httperr_reason r);
/* The reason whose token is exactly the LEN bytes at NAME (case matters), or -1 (for scenario
 * files that name one). */
int httperr_reason_lookup(const char *name, size_t len);

/* Header lines ("#Software: Microsoft HTTP API 2.0", "#Version: 1.0", "#Date: ...", "#Fields:
 * ...", each ending "\r\n") for a block begun at NOW, as logf_header_cb. Returns 0 (no header
 * at all) when LEN is too small. */
size_t httperr_header(char *buf, size_t len, time_t now);
/* Renders E as one line ending in "\r\n" into BUF (at least HTTPERR_LINE_MAX bytes); returns its
 * length, or 0 when BUF is smaller or E's reason is not one of the enum. */
size_t httperr_format(char *buf, size_t len, const struct httperr_entry *e);

/* Folder of a server's HTTPERR log under LOGS_DIR (<state>/logs), written into BUF, as
 * %SystemRoot%\System32\LogFiles\HTTPERR; NULL when it does not fit. */
const char *httperr_dir(char *buf, size_t len, const char *logs_dir, const char *server);
/* Opens (creating its folders) the HTTPERR log of SERVER: numbered files of HTTPERR_FILE_MAX
 * bytes at most, going on from the highest one there. Returns NULL with a cause in ERR. Closed
 * with logf_close(). */
struct logf *httperr_open(const char *logs_dir, const char *server, time_t now, char *err,
                          size_t errlen);

#endif
