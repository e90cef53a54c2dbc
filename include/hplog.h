/*
 * hplog — the HttpProxy log of an Exchange 2013+ front end (reference 7.3): one CSV line per
 * request that went through the HttpProxy module of a virtual directory, in
 *   <state>/logs/<SERVER>/Program Files/Microsoft/Exchange Server/V15/Logging/HttpProxy/<Protocol>/
 *   HttpProxy_YYYYMMDDHH-1.LOG       (one file per UTC hour; Protocol Ews or Autodiscover)
 * Exchange 2010 has no front end and no such log.
 *
 * The field list is a table compiled once; a line is rendered in one pass into the caller's
 * buffer and handed to logfile whole. What the fields say (who logged on, whether the request
 * was proxied, its routing hint) is the caller's to decide; this module writes it the way
 * Exchange's log writer does: ISO UTC times to the millisecond, empty for absent, a field with
 * a comma or a double quote in quotes with its quotes doubled, CR and LF as the two characters
 * \r and \n. Each field a client can fill has its own bound, so a line never exceeds
 * HPLOG_LINE_MAX and always has its 74 fields and one CRLF.
 */
#ifndef MRSMOCK_HPLOG_H
#define MRSMOCK_HPLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct logf;

/* The protocol folders of the log that mrsmock's virtual directories write to. */
enum hplog_protocol {
    HPLOG_EWS,          /* /EWS/..., /EWS/mrsproxy.svc included */
    HPLOG_AUTODISCOVER, /* /Autodiscover/... */
    HPLOG_NPROTOCOLS,
};

/* A string that need not be NUL-terminated; NULL or empty is written as an empty field. */
struct hplog_str {
    const char *base;
    size_t len;
};

/* One request as the front end's HttpProxy module logs it. */
struct hplog_entry {
    struct timespec begin;  /* the request arrived: GenericInfo's BeginRequest */
    struct timespec end;    /* the response went out: DateTime, GenericInfo's EndRequest */
    const char *request_id; /* the request-id GUID, as the IIS line's cafeReqId; NUL-ended */
    unsigned build[4];      /* the server's build (15.1.2507.6): versions, FEAuth */
    enum hplog_protocol protocol;
    struct hplog_str client_request_id; /* the client's client-request-id */
    struct hplog_str url_host;          /* the Host asked for: written without port, lower case */
    struct hplog_str url_stem;          /* the path without its query */
    struct hplog_str url_query;         /* "?..." as sent, or empty */
    struct hplog_str protocol_action;
    struct hplog_str auth_type; /* "Negotiate", "NTLM", "Basic"; empty for no credentials */
    int is_authenticated;
    struct hplog_str authenticated_user; /* DOMAIN\user */
    struct hplog_str anchor_mailbox;     /* "Smtp~user@contoso.com", "Sid~S-1-5-21-..." */
    struct hplog_str user_agent;
    struct hplog_str client_ip;
    struct hplog_str server_host_name; /* the front end's computer name */
    unsigned http_status;              /* sent to the client */
    struct hplog_str method;
    unsigned backend_status;        /* the back end's status; 0: not proxied, and then ProxyAction,
                                       TargetServer, TargetServerVersion, RoutingType, ResponseBytes,
                                       the proxy's latencies and RoutingStatus stay empty */
    struct hplog_str target_server; /* the back end's FQDN */
    int target_attempted; /* proxying to TARGET_SERVER was tried and got no answer (a dead back
                             end): the proxy's fields are written, BackEndStatus stays empty */
    struct hplog_str routing_hint;
    uint64_t request_bytes;  /* the request's body */
    uint64_t response_bytes; /* the response's body (written when proxied) */
    uint64_t total_ms;       /* TotalRequestTime */
    struct hplog_str generic_errors;
    struct hplog_str backend_cookie; /* the X-BackEndCookie the front end set */
    struct hplog_str database_guid;  /* the database that routed the request */
};

/* The maximum length of a rendered line. */
#define HPLOG_LINE_MAX 16384

/* Header lines ("#Software: ...", "#Version: 15.01.2507.006", "#Log-type: HttpProxy Logs",
 * "#Date: ...", "#Fields: ...") for a file begun at NOW, as logf_header_arg_cb; BUILD points to
 * the server's unsigned[4] build. Returns 0 (no header at all) when LEN is too small. */
size_t hplog_header(char *buf, size_t len, time_t now, const void *build);
/* Renders E as one line ending in "\r\n" into BUF (at least HPLOG_LINE_MAX bytes, else 0 is
 * returned); returns its length. */
size_t hplog_format(char *buf, size_t len, const struct hplog_entry *e);

/* "Ews", "Autodiscover": the Protocol field and the folder's name. */
const char *hplog_protocol_name(enum hplog_protocol p);
/* Folder of a server's log for protocol P under LOGS_DIR (<state>/logs), written into BUF;
 * NULL when it does not fit. */
const char *hplog_dir(char *buf, size_t len, const char *logs_dir, const char *server,
                      enum hplog_protocol p);
/*
 * Opens (creating its folders) the log of SERVER, of build BUILD (copied; its header's
 * #Version), for protocol P: hourly files that begin with Exchange's UTF-8 byte order mark.
 * Returns NULL with a cause in ERR. Closed with logf_close().
 */
struct logf *hplog_open(const char *logs_dir, const char *server, const unsigned build[4],
                        enum hplog_protocol p, time_t now, char *err, size_t errlen);

#endif
