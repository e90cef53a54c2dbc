/*
 * wsrm — WS-ReliableMessaging for the MRS Proxy: the sequences each emulated server holds, and
 * the protocol's vocabulary (namespaces, actions, the Sequence and SequenceAcknowledgement
 * headers) as WCF's reliable session speaks it (reference 4.4).
 *
 * Ownership: the sequence table belongs to this module alone. It is shared by every worker
 * thread and locked only inside wsrm.c, for the few instructions that find or change one
 * entry; callers get copies (struct wsrm_state), never pointers into the table.
 *
 * A sequence is known by the server that created it (its NetBIOS name, compared without case)
 * and by its identifier. A message that a load balancer hands to another server therefore finds
 * nothing there and is answered UnknownSequence, as on Exchange 2010 behind a balancer without
 * affinity (reference 4.5). Sequences survive a scenario reload (the server keeps its name, as a
 * real server keeps its sessions when its configuration changes), end with TerminateSequence,
 * and expire after WSRM_INACTIVITY_MS without a message. Each server holds at most its
 * MRSProxyMaxConnections of them.
 *
 * Entries are malloc'd and reachable from the table until wsrm_shutdown() frees them, so a
 * process that exits without calling it leaks nothing LeakSanitizer reports.
 */
#ifndef MRSMOCK_WSRM_H
#define MRSMOCK_WSRM_H

#include <stddef.h>
#include <stdint.h>
#include <libxml/xmlwriter.h>

/* WCF's ReliableSessionBindingElement defaults (reference 4.3): inactivity timeout 00:10:00,
 * MaxTransferWindowSize 8. */
#define WSRM_INACTIVITY_MS (10u * 60u * 1000u)
#define WSRM_WINDOW 8
/* Longest identifier kept, NUL included. WCF's are "urn:uuid:" and a GUID (45 bytes); a longer
 * one is refused as a malformed header. */
#define WSRM_ID_MAX 128
/* At most this many AcknowledgementRange elements: [1, n] and the islands a window of
 * WSRM_WINDOW numbers above it can hold. */
#define WSRM_RANGES_MAX (1 + WSRM_WINDOW / 2)

#define WSRM_NS_NETRM "http://schemas.microsoft.com/ws/2006/05/rm" /* WCF's own extension */

/* The two versions WCF speaks; the MRS Proxy's binding uses WCF's default, February 2005. */
enum wsrm_version {
    WSRM_2005, /* WS-RM February 2005, http://schemas.xmlsoap.org/ws/2005/02/rm */
    WSRM_2007, /* WS-RM 1.1, http://docs.oasis-open.org/ws-rx/wsrm/200702 */
};

/* One row per version: its namespace and the actions of its protocol messages (NULL where the
 * version has no such message). */
struct wsrm_proto {
    const char *name; /* for the why trail */
    const char *ns;
    const char *create_sequence, *create_sequence_response;
    const char *close_sequence, *close_sequence_response;
    const char *terminate_sequence, *terminate_sequence_response;
    const char *ack_requested, *sequence_acknowledgement, *last_message;
    const char *fault; /* the action of WS-RM faults */
};

extern const struct wsrm_proto wsrm_protos[2]; /* indexed by enum wsrm_version */

/* The version whose namespace is NS, or -1. */
int wsrm_version_of_ns(const char *ns);
/* The version whose protocol actions start with ACTION's prefix, or -1 (ACTION may be NULL). */
int wsrm_version_of_action(const char *action);

/* A copy of one sequence, taken under the lock. */
struct wsrm_state {
    enum wsrm_version version;
    char id[WSRM_ID_MAX];    /* the server's identifier ("urn:uuid:...") */
    char offer[WSRM_ID_MAX]; /* the client's offered identifier: the sequence of the replies */
    uint64_t contiguous;     /* messages 1..contiguous have arrived */
    uint64_t above;          /* bit i: message contiguous + 2 + i has arrived (a gap before it) */
    uint64_t last;           /* number that carried LastMessage (February 2005); 0: not yet */
    int closed;              /* CloseSequence received (1.1) */
    uint64_t reply;          /* number of this message's reply on the offered sequence; 0: none */
    unsigned active;         /* the server's sequences, after this call */
};

/* What the table made of a request. */
enum wsrm_result {
    WSRM_OK,             /* taken; STATE holds its reply number */
    WSRM_DUPLICATE,      /* already taken: answer again (reply number kept, or 0: ack only) */
    WSRM_DROPPED,        /* beyond the transfer window: not taken, acknowledge without it */
    WSRM_UNKNOWN,        /* no such sequence on this server */
    WSRM_LIMIT,          /* the server holds as many sequences as it may (STATE.active) */
    WSRM_LAST_EXCEEDED,  /* a number after (or a second) LastMessage (February 2005) */
    WSRM_CLOSED,         /* a new message on a closed sequence (1.1) */
    WSRM_EARLY_TERMINATE /* TerminateSequence before every message up to LastMessage arrived;
                            the sequence is gone (February 2005) */
};

/*
 * CreateSequence on SERVER: a new sequence of VERSION whose replies go on OFFER, unless SERVER
 * already holds LIMIT live ones (WSRM_LIMIT, with the count in OUT->active). Fills OUT.
 */
enum wsrm_result wsrm_create(const char *server, unsigned limit, enum wsrm_version version,
                             const char *offer, struct wsrm_state *out);

/*
 * Message NUMBER (1 or more) of sequence ID on SERVER arrived; LAST: it carried LastMessage.
 * Every message taken gets the next reply number, since each request of a request-reply
 * session is answered on the offered sequence. Fills OUT (but for WSRM_UNKNOWN).
 */
enum wsrm_result wsrm_message(const char *server, const char *id, uint64_t number, int last,
                              struct wsrm_state *out);

/* AckRequested: the state of ID on SERVER, marked active. WSRM_OK or WSRM_UNKNOWN. */
enum wsrm_result wsrm_ack(const char *server, const char *id, struct wsrm_state *out);

/* CloseSequence (1.1): no new message is taken afterwards. WSRM_OK or WSRM_UNKNOWN. */
enum wsrm_result wsrm_close(const char *server, const char *id, struct wsrm_state *out);

/* TerminateSequence: forgets ID on SERVER; OUT gets its last state. WSRM_OK, WSRM_UNKNOWN or
 * WSRM_EARLY_TERMINATE (forgotten as well: WCF faults the session). */
enum wsrm_result wsrm_terminate(const char *server, const char *id, struct wsrm_state *out);

/* A WS-RM fault from the client about ID on SERVER (SequenceTerminated when WCF's client aborts
 * its session, or any other): ID is either side's sequence of the session, the server's own or
 * the offered one. The session is forgotten, as WCF's reliable channel faults it. WSRM_OK (OUT
 * gets its last state) or WSRM_UNKNOWN. */
enum wsrm_result wsrm_abandon(const char *server, const char *id, struct wsrm_state *out);

/* Live sequences of SERVER (expired ones are dropped first). */
unsigned wsrm_active(const char *server);

/* The acknowledgement ranges of S, lowest first; returns their number (0: nothing yet). */
size_t wsrm_ranges(const struct wsrm_state *s, uint64_t lower[WSRM_RANGES_MAX],
                   uint64_t upper[WSRM_RANGES_MAX]);

/* Writes the r:SequenceAcknowledgement header for S. The writer's current element must have
 * declared the prefixes "r" (S's namespace) and "s" (SOAP 1.2). */
void wsrm_write_ack(xmlTextWriterPtr w, const struct wsrm_state *s);
/* Writes the r:Sequence header: message NUMBER of sequence ID, with LastMessage when LAST. */
void wsrm_write_sequence(xmlTextWriterPtr w, const char *id, uint64_t number, int last);

/* The clock sequences expire by, in milliseconds (tests); NULL restores CLOCK_MONOTONIC. */
void wsrm_set_clock(uint64_t (*now_ms)(void));
/* Forgets and frees every sequence (at exit; between tests). Safe to call more than once. */
void wsrm_shutdown(void);

#endif
