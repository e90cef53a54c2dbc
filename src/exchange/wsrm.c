/*
 * wsrm — WS-ReliableMessaging sequences per emulated server, and the protocol's headers.
 *
 * The table: sequences hashed by identifier into fixed buckets, each entry also on one list in
 * the order of its last activity (oldest first), so that expiring the idle ones is a walk from
 * the head that stops at the first live entry. Each server name has a small record holding its
 * count of live sequences, which MRSProxyMaxConnections bounds. One mutex guards all of it;
 * identifiers are drawn and XML is written outside it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "soap_ns.h"
#include "util.h"
#include "wsrm.h"

#define NBUCKETS 256
#define SERVER_MAX 64 /* NetBIOS names are at most 15 characters; room to spare */

const struct wsrm_proto wsrm_protos[2] = {
    [WSRM_2005] =
        {
            .name = "WS-RM 2005/02",
            .ns = SOAP_NS_WSRM_2005,
            .create_sequence = SOAP_NS_WSRM_2005 "/CreateSequence",
            .create_sequence_response = SOAP_NS_WSRM_2005 "/CreateSequenceResponse",
            .terminate_sequence = SOAP_NS_WSRM_2005 "/TerminateSequence",
            .ack_requested = SOAP_NS_WSRM_2005 "/AckRequested",
            .sequence_acknowledgement = SOAP_NS_WSRM_2005 "/SequenceAcknowledgement",
            .last_message = SOAP_NS_WSRM_2005 "/LastMessage",
            /* February 2005 has no fault action of its own: WS-Addressing 1.0's (reference 4.4) */
            .fault = SOAP_WSA_SOAP_FAULT,
        },
    [WSRM_2007] =
        {
            .name = "WS-RM 1.1",
            .ns = SOAP_NS_WSRM_2007,
            .create_sequence = SOAP_NS_WSRM_2007 "/CreateSequence",
            .create_sequence_response = SOAP_NS_WSRM_2007 "/CreateSequenceResponse",
            .close_sequence = SOAP_NS_WSRM_2007 "/CloseSequence",
            .close_sequence_response = SOAP_NS_WSRM_2007 "/CloseSequenceResponse",
            .terminate_sequence = SOAP_NS_WSRM_2007 "/TerminateSequence",
            .terminate_sequence_response = SOAP_NS_WSRM_2007 "/TerminateSequenceResponse",
            .ack_requested = SOAP_NS_WSRM_2007 "/AckRequested",
            .sequence_acknowledgement = SOAP_NS_WSRM_2007 "/SequenceAcknowledgement",
            .fault = SOAP_NS_WSRM_2007 "/fault",
        },
};

/* The live sequences of one server name; records live until wsrm_shutdown(). */
struct server_rec {
    struct server_rec *next;
    unsigned active;
    char name[SERVER_MAX];
};

struct seq {
    struct seq *hnext;       /* bucket chain */
    struct seq *prev, *next; /* activity list, oldest first */
    struct server_rec *server;
    uint64_t last_used; /* ms */
    /* the replies of the last WSRM_WINDOW messages, by message number modulo the window, so
     * that a retransmitted request is answered again under the same reply number */
    struct {
        uint64_t request, reply;
    } replies[WSRM_WINDOW];
    uint64_t next_reply;
    struct wsrm_state st; /* st.reply and st.active are only meaningful in copies */
};

static uint64_t clock_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    struct seq *buckets[NBUCKETS];
    struct seq *oldest, *newest;
    struct server_rec *servers;
    uint64_t (*now)(void);
} table = {.now = clock_monotonic_ms};

/* --- vocabulary --------------------------------------------------------------------------- */

int wsrm_version_of_ns(const char *ns)
{
    for (int v = WSRM_2005; ns != NULL && v <= WSRM_2007; v++)
        if (strcmp(ns, wsrm_protos[v].ns) == 0)
            return v;
    return -1;
}

int wsrm_version_of_action(const char *action)
{
    for (int v = WSRM_2005; action != NULL && v <= WSRM_2007; v++) {
        size_t n = strlen(wsrm_protos[v].ns);
        if (strncmp(action, wsrm_protos[v].ns, n) == 0 && action[n] == '/')
            return v;
    }
    return -1;
}

/* --- the table (every static function below runs with the lock held) ---------------------- */

/* FNV-1a of the identifier without case: WCF's UniqueId compares GUIDs, not their spelling. */
static size_t bucket_of(const char *id)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)id; *p != '\0'; p++)
        h = (h ^ (uint32_t)(*p | 0x20)) * 16777619u;
    return h % NBUCKETS;
}

static struct server_rec *server_find(const char *name, int create)
{
    struct server_rec *r;

    for (r = table.servers; r != NULL; r = r->next)
        if (strcasecmp(r->name, name) == 0)
            return r;
    if (!create)
        return NULL;
    if ((r = calloc(1, sizeof(*r))) == NULL)
        fatalx("out of memory");
    snprintf(r->name, sizeof(r->name), "%s", name);
    r->next = table.servers;
    table.servers = r;
    return r;
}

static void list_unlink(struct seq *s)
{
    if (s->prev != NULL)
        s->prev->next = s->next;
    else
        table.oldest = s->next;
    if (s->next != NULL)
        s->next->prev = s->prev;
    else
        table.newest = s->prev;
    s->prev = s->next = NULL;
}

static void list_append(struct seq *s)
{
    s->prev = table.newest;
    s->next = NULL;
    if (table.newest != NULL)
        table.newest->next = s;
    else
        table.oldest = s;
    table.newest = s;
}

static void seq_remove(struct seq *s)
{
    struct seq **pp = &table.buckets[bucket_of(s->st.id)];

    while (*pp != s)
        pp = &(*pp)->hnext;
    *pp = s->hnext;
    list_unlink(s);
    s->server->active--;
    free(s);
}

/* Drops the sequences idle for the inactivity timeout or longer: WCF faults such a session and
 * forgets it, so its next message is answered UnknownSequence. */
static void expire(uint64_t now)
{
    while (table.oldest != NULL && now - table.oldest->last_used >= WSRM_INACTIVITY_MS)
        seq_remove(table.oldest);
}

/* The live sequence ID of SERVER, marked active at NOW; NULL if there is none. */
static struct seq *seq_find(const char *server, const char *id, uint64_t now)
{
    struct server_rec *r;
    struct seq *s;

    expire(now);
    if ((r = server_find(server, 0)) == NULL)
        return NULL;
    for (s = table.buckets[bucket_of(id)]; s != NULL; s = s->hnext)
        if (s->server == r && strcasecmp(s->st.id, id) == 0)
            break;
    if (s != NULL) {
        s->last_used = now;
        list_unlink(s);
        list_append(s);
    }
    return s;
}

static void copy_out(const struct seq *s, struct wsrm_state *out, uint64_t reply)
{
    *out = s->st;
    out->reply = reply;
    out->active = s->server->active;
}

static int received(const struct wsrm_state *st, uint64_t n)
{
    if (n <= st->contiguous)
        return 1;
    if (n - st->contiguous < 2 || n - st->contiguous - 2 >= 64)
        return 0;
    return (int)((st->above >> (n - st->contiguous - 2)) & 1u);
}

static uint64_t highest(const struct wsrm_state *st)
{
    return st->above == 0 ? st->contiguous
                          : st->contiguous + 2 + (uint64_t)(63 - __builtin_clzll(st->above));
}

/* Adds N (not yet received, within the window) to the received set. */
static void merge(struct wsrm_state *st, uint64_t n)
{
    if (n != st->contiguous + 1) {
        st->above |= UINT64_C(1) << (n - st->contiguous - 2);
        return;
    }
    st->contiguous++;
    /* bit 0 now stands for contiguous + 1: absorb the run that the new message joined */
    while (st->above & 1u) {
        st->contiguous++;
        st->above >>= 1;
    }
    st->above >>= 1;
}

/* --- the interface ------------------------------------------------------------------------ */

/* A version 4 GUID, as WCF's UniqueId(Guid.NewGuid()) writes it: "urn:uuid:" and the GUID. */
#define UUID_URN "urn:uuid:"
_Static_assert(sizeof(UUID_URN) - 1 + UTIL_GUID_LEN <= WSRM_ID_MAX, "WSRM_ID_MAX too small");

static void new_identifier(char out[WSRM_ID_MAX])
{
    memcpy(out, UUID_URN, sizeof(UUID_URN) - 1);
    util_guid_random(out + sizeof(UUID_URN) - 1);
}

enum wsrm_result wsrm_create(const char *server, unsigned limit, enum wsrm_version version,
                             const char *offer, struct wsrm_state *out)
{
    struct seq *s = calloc(1, sizeof(*s));
    struct server_rec *r;
    size_t b;

    if (s == NULL)
        fatalx("out of memory");
    s->st.version = version;
    new_identifier(s->st.id);
    snprintf(s->st.offer, sizeof(s->st.offer), "%s", offer != NULL ? offer : "");
    b = bucket_of(s->st.id);

    pthread_mutex_lock(&lock);
    s->last_used = table.now();
    expire(s->last_used);
    r = server_find(server, 1);
    if (r->active >= limit) {
        memset(out, 0, sizeof(*out));
        out->version = version;
        out->active = r->active;
        pthread_mutex_unlock(&lock);
        free(s);
        return WSRM_LIMIT;
    }
    s->server = r;
    r->active++;
    s->hnext = table.buckets[b];
    table.buckets[b] = s;
    list_append(s);
    copy_out(s, out, 0);
    pthread_mutex_unlock(&lock);
    return WSRM_OK;
}

enum wsrm_result wsrm_message(const char *server, const char *id, uint64_t number, int last,
                              struct wsrm_state *out)
{
    enum wsrm_result res = WSRM_OK;
    uint64_t reply = 0;
    struct seq *s;

    pthread_mutex_lock(&lock);
    if ((s = seq_find(server, id, table.now())) == NULL) {
        pthread_mutex_unlock(&lock);
        return WSRM_UNKNOWN;
    }
    struct wsrm_state *st = &s->st;
    int dup = received(st, number);
    /* WCF's ReliableInputConnection.IsValid, February 2005: LastMessage must come after every
     * number seen, and nothing may come after it. Checked before duplicates, as WCF does. */
    int valid = 1;
    if (st->version == WSRM_2005 && last)
        valid = st->last == 0 ? number > highest(st) : number == st->last;
    else if (st->version == WSRM_2005 && st->last != 0)
        valid = number < st->last;

    if (!valid) {
        res = WSRM_LAST_EXCEEDED;
    } else if (dup) {
        /* WCF sends the reply again while it keeps it (until the client acknowledged it); the
         * mock keeps the reply numbers of the last WSRM_WINDOW messages */
        res = WSRM_DUPLICATE;
        if (s->replies[number % WSRM_WINDOW].request == number)
            reply = s->replies[number % WSRM_WINDOW].reply;
    } else if (st->closed) {
        res = WSRM_CLOSED;
    } else if (number > st->contiguous + WSRM_WINDOW) {
        /* No room in the transfer window: WCF drops the message and acknowledges what it has,
         * so the client sends it again later. */
        res = WSRM_DROPPED;
    } else {
        /* Taken at once, even after a gap: WCF's ordered delivery would hold it until the gap
         * is filled; the mock's operations do not depend on each other, so it answers now and
         * the acknowledgement shows the gap. */
        merge(st, number);
        if (last)
            st->last = number;
        reply = ++s->next_reply;
        s->replies[number % WSRM_WINDOW].request = number;
        s->replies[number % WSRM_WINDOW].reply = reply;
    }
    copy_out(s, out, reply);
    pthread_mutex_unlock(&lock);
    return res;
}

enum wsrm_result wsrm_ack(const char *server, const char *id, struct wsrm_state *out)
{
    struct seq *s;

    pthread_mutex_lock(&lock);
    if ((s = seq_find(server, id, table.now())) != NULL)
        copy_out(s, out, 0);
    pthread_mutex_unlock(&lock);
    return s != NULL ? WSRM_OK : WSRM_UNKNOWN;
}

enum wsrm_result wsrm_close(const char *server, const char *id, struct wsrm_state *out)
{
    struct seq *s;

    pthread_mutex_lock(&lock);
    if ((s = seq_find(server, id, table.now())) != NULL) {
        s->st.closed = 1;
        copy_out(s, out, 0);
    }
    pthread_mutex_unlock(&lock);
    return s != NULL ? WSRM_OK : WSRM_UNKNOWN;
}

enum wsrm_result wsrm_terminate(const char *server, const char *id, struct wsrm_state *out)
{
    enum wsrm_result res = WSRM_OK;
    struct seq *s;

    pthread_mutex_lock(&lock);
    if ((s = seq_find(server, id, table.now())) == NULL) {
        pthread_mutex_unlock(&lock);
        return WSRM_UNKNOWN;
    }
    /* WCF's ReliableInputConnection.Terminate, February 2005: every message up to the one that
     * carried LastMessage must have arrived. WS-RM 1.1 names its last number in the request;
     * the mock takes any (WCF checks it against what arrived). */
    if (s->st.version == WSRM_2005 &&
        (s->st.last == 0 || s->st.contiguous != s->st.last || s->st.above != 0))
        res = WSRM_EARLY_TERMINATE;
    copy_out(s, out, 0);
    seq_remove(s);
    out->active = out->active - 1;
    pthread_mutex_unlock(&lock);
    return res;
}

enum wsrm_result wsrm_abandon(const char *server, const char *id, struct wsrm_state *out)
{
    struct server_rec *r;
    struct seq *s;

    pthread_mutex_lock(&lock);
    if ((s = seq_find(server, id, table.now())) == NULL && (r = server_find(server, 0)) != NULL) {
        /* the offered identifier is not hashed: a walk, for an event as rare as an abort */
        for (s = table.oldest; s != NULL; s = s->next)
            if (s->server == r && strcasecmp(s->st.offer, id) == 0)
                break;
    }
    if (s == NULL) {
        pthread_mutex_unlock(&lock);
        return WSRM_UNKNOWN;
    }
    copy_out(s, out, 0);
    seq_remove(s);
    out->active = out->active - 1;
    pthread_mutex_unlock(&lock);
    return WSRM_OK;
}

unsigned wsrm_active(const char *server)
{
    struct server_rec *r;
    unsigned n = 0;

    pthread_mutex_lock(&lock);
    expire(table.now());
    if ((r = server_find(server, 0)) != NULL)
        n = r->active;
    pthread_mutex_unlock(&lock);
    return n;
}

void wsrm_set_clock(uint64_t (*now_ms)(void))
{
    pthread_mutex_lock(&lock);
    table.now = now_ms != NULL ? now_ms : clock_monotonic_ms;
    pthread_mutex_unlock(&lock);
}

void wsrm_shutdown(void)
{
    struct seq *s, *sn;
    struct server_rec *r, *rn;

    pthread_mutex_lock(&lock);
    for (s = table.oldest; s != NULL; s = sn) {
        sn = s->next;
        free(s);
    }
    for (r = table.servers; r != NULL; r = rn) {
        rn = r->next;
        free(r);
    }
    memset(table.buckets, 0, sizeof(table.buckets));
    table.oldest = table.newest = NULL;
    table.servers = NULL;
    pthread_mutex_unlock(&lock);
}

/* --- headers ------------------------------------------------------------------------------ */

size_t wsrm_ranges(const struct wsrm_state *s, uint64_t lower[WSRM_RANGES_MAX],
                   uint64_t upper[WSRM_RANGES_MAX])
{
    size_t n = 0;

    if (s->contiguous > 0) {
        lower[n] = 1;
        upper[n++] = s->contiguous;
    }
    for (unsigned i = 0; i < 64 && n < WSRM_RANGES_MAX; i++) {
        if (!((s->above >> i) & 1u))
            continue;
        uint64_t lo = s->contiguous + 2 + i;
        while (i + 1 < 64 && ((s->above >> (i + 1)) & 1u))
            i++;
        lower[n] = lo;
        upper[n++] = s->contiguous + 2 + i;
    }
    return n;
}

static void write_u64(xmlTextWriterPtr w, const char *name, uint64_t v)
{
    xmlTextWriterWriteFormatAttribute(w, BAD_CAST name, "%llu", (unsigned long long)v);
}

void wsrm_write_ack(xmlTextWriterPtr w, const struct wsrm_state *s)
{
    uint64_t lower[WSRM_RANGES_MAX], upper[WSRM_RANGES_MAX];
    size_t n = wsrm_ranges(s, lower, upper);

    xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "SequenceAcknowledgement", NULL);
    xmlTextWriterWriteElementNS(w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST s->id);
    /* Before any message WCF acknowledges the range 0-0 (WCF's WS-RM 1.0 notes, B1402). */
    if (n == 0) {
        lower[0] = upper[0] = 0;
        n = 1;
    }
    for (size_t i = 0; i < n; i++) {
        xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "AcknowledgementRange", NULL);
        write_u64(w, "Upper", upper[i]);
        write_u64(w, "Lower", lower[i]);
        xmlTextWriterEndElement(w);
    }
    if (s->version == WSRM_2007 && s->closed) {
        xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "Final", NULL);
        xmlTextWriterEndElement(w);
    }
    /* WCF's flow control (on by default): room left in the transfer window. The mock hands
     * every message on at once, so the whole window is free. */
    xmlTextWriterStartElementNS(w, BAD_CAST "netrm", BAD_CAST "BufferRemaining",
                                BAD_CAST WSRM_NS_NETRM);
    xmlTextWriterWriteFormatString(w, "%d", WSRM_WINDOW);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

void wsrm_write_sequence(xmlTextWriterPtr w, const char *id, uint64_t number, int last)
{
    xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "Sequence", NULL);
    xmlTextWriterWriteAttributeNS(w, BAD_CAST "s", BAD_CAST "mustUnderstand", NULL, BAD_CAST "1");
    xmlTextWriterWriteElementNS(w, BAD_CAST "r", BAD_CAST "Identifier", NULL, BAD_CAST id);
    xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "MessageNumber", NULL);
    xmlTextWriterWriteFormatString(w, "%llu", (unsigned long long)number);
    xmlTextWriterEndElement(w);
    if (last) {
        xmlTextWriterStartElementNS(w, BAD_CAST "r", BAD_CAST "LastMessage", NULL);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
}
