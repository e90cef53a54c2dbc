/*
 * journal — one entry per request, with the why of its answer, in a bounded ring that the admin
 * API reads (GET /requests, /requests/wait).
 *
 * Workers write entries when a request's pool is released (journal_log, a logger row of the
 * pipeline) without a lock: each takes the next id with one atomic add and fills the slot that
 * id maps to, guarded by that slot's sequence number (a seqlock); readers copy a slot and keep
 * it only if its sequence number did not move meanwhile. When more requests come than the ring
 * holds, the oldest are overwritten and counted as dropped. Ids start at 1 and only grow (a
 * reset keeps counting), so "since" filters stay valid across resets.
 */
#ifndef MRSMOCK_JOURNAL_H
#define MRSMOCK_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct flow;
struct timeval;

/* One request as the journal keeps it; strings are NUL-terminated and cut to fit. */
struct journal_entry {
    uint64_t id;
    struct timespec at;   /* when it arrived */
    uint64_t duration_ms; /* until its pool was released */
    char listener[64];
    char server[64];   /* the server the request reached (a balancer's member: its front end) */
    char backend[64];  /* the back end a 2013+ front end proxied it to; empty: not proxied */
    char balancer[64]; /* the balancer that chose the server; empty: none */
    char client_ip[48];
    unsigned client_port;
    char tls_version[16]; /* "TLSv1.3"; empty for plain HTTP */
    char cipher[64];
    char sni[128];         /* the server name the client's TLS handshake asked for */
    char http_version[12]; /* "HTTP/1.1", "HTTP/2" */
    char method[16];
    char host[128];
    char path[512];       /* with its query */
    char answered_by[12]; /* "backend", "frontend", "iis", "httpsys", "device"; empty: never
                             answered (the client went away) */
    unsigned status, substatus;
    uint32_t win32;
    char auth_scheme[12]; /* "Basic", "NTLM", "Negotiate"; empty: anonymous */
    char user[128];       /* cs-username as IIS logs it */
    unsigned logs;        /* FLOW_LOG_* of the lines it left */
    char request_id[37];
    char rm_sequence[128]; /* the WS-RM sequence and message number of an MRS Proxy message */
    uint64_t rm_message;
    char why[512];
};

/* A filter on entries; NULL and 0 fields match everything. */
struct journal_filter {
    uint64_t since; /* entries with a larger id only */
    const char *server, *listener, *host, *path_prefix, *method, *user;
    unsigned status;
    int complete_only; /* stop at the first entry still being written: what is counted then
                          never needs counting again from *upto (a long poll's looks) */
};

/* Makes the ring hold CAPACITY entries (at least 1). Called once, before the workers start. */
void journal_init(size_t capacity);
/* Frees the ring (stopping the journal file first). */
void journal_free(void);
/* The pipeline's logger row: F's entry. */
void journal_log(struct flow *f, const struct timeval *now);
/* What adds an entry for a connection that ends without a request (conn_observe). */
extern const struct conn_observer journal_conn_observer;
/* Adds a copy of E (its id ignored) as the next entry: what ends without a request (a
 * connection a handshake fault took). Returns its id; 0 without a ring. */
uint64_t journal_add(const struct journal_entry *e);
/* Copies into OUT (up to MAX) the entries matching FILTER, oldest first; returns how many.
 * *TOTAL (if not NULL) gets how many match in all, which may exceed MAX. *UPTO (if not NULL)
 * gets the id up to which every entry was complete when read (an entry still being written
 * stops it), where a later search can start (its filter's since) without missing one. */
size_t journal_find(const struct journal_filter *filter, struct journal_entry *out, size_t max,
                    size_t *total, uint64_t *upto);
/* An entry as JSON (the admin API's and the journal file's shape); a new reference. */
struct json_t *journal_entry_json(const struct journal_entry *e);
/* Appends every entry from now on to PATH as JSON lines, from a thread of its own; 0, or -1
 * with a cause in ERR. journal_file_stop() writes what is left and closes it. */
int journal_file_start(const char *path, char *err, size_t errlen);
void journal_file_stop(void);

/* Forgets every entry (ids keep counting). */
void journal_reset(void);
/* Entries written since start, and those overwritten before anyone read them. */
uint64_t journal_written(void);
uint64_t journal_dropped(void);
size_t journal_capacity(void);

#endif
