/*
 * test_wsrm — the WS-RM sequence table: creation and lookup per server, numbering and
 * acknowledgement ranges, LastMessage and TerminateSequence, unknown identifiers, expiry by an
 * injected clock, the per-server limit, threads hammering it at once, and the headers it writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <libxml/parser.h>

#include "log.h"
#include "wsrm.h"

static uint64_t fake_ms;

static uint64_t fake_clock(void)
{
    return fake_ms;
}

static int setup(void **state)
{
    UNUSED(state);
    fake_ms = 1000000;
    wsrm_set_clock(fake_clock);
    return 0;
}

static int teardown(void **state)
{
    UNUSED(state);
    wsrm_shutdown();
    wsrm_set_clock(NULL);
    return 0;
}

/* A sequence on SERVER (limit 100), its identifier copied into ID. */
static void create(const char *server, enum wsrm_version v, char id[WSRM_ID_MAX])
{
    struct wsrm_state st;

    assert_int_equal(wsrm_create(server, 100, v, "urn:uuid:offer", &st), WSRM_OK);
    memcpy(id, st.id, WSRM_ID_MAX);
}

/* The ranges of ST as "1-2,4-4" ("" when none). */
static const char *ranges(const struct wsrm_state *st)
{
    static char out[128];
    uint64_t lo[WSRM_RANGES_MAX], hi[WSRM_RANGES_MAX];
    size_t n = wsrm_ranges(st, lo, hi), o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%llu-%llu", i ? "," : "",
                              (unsigned long long)lo[i], (unsigned long long)hi[i]);
    return out;
}

static void test_create_and_lookup_per_server(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX], upper[WSRM_ID_MAX];
    UNUSED(state);

    assert_int_equal(wsrm_create("EX1", 100, WSRM_2005, "urn:uuid:offer", &st), WSRM_OK);
    memcpy(id, st.id, sizeof(id));
    assert_int_equal(strlen(id), 45);
    assert_memory_equal(id, "urn:uuid:", 9);
    assert_int_equal(id[23], '4'); /* a version 4 GUID */
    assert_string_equal(st.offer, "urn:uuid:offer");
    assert_int_equal(st.active, 1);
    assert_int_equal(st.contiguous, 0);

    /* the server that created it knows it, whatever the case of its name or of the GUID */
    assert_int_equal(wsrm_ack("EX1", id, &st), WSRM_OK);
    assert_int_equal(wsrm_ack("ex1", id, &st), WSRM_OK);
    for (size_t i = 0; i <= strlen(id); i++)
        upper[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
    assert_int_equal(wsrm_ack("EX1", upper, &st), WSRM_OK);
    /* another server does not: what a balancer without affinity meets */
    assert_int_equal(wsrm_ack("EX2", id, &st), WSRM_UNKNOWN);
    assert_int_equal(wsrm_message("EX2", id, 1, 0, &st), WSRM_UNKNOWN);
    assert_int_equal(
        wsrm_message("EX1", "urn:uuid:00000000-0000-4000-8000-000000000000", 1, 0, &st),
        WSRM_UNKNOWN);
    /* two sequences never share an identifier */
    char other[WSRM_ID_MAX];
    create("EX1", WSRM_2005, other);
    assert_string_not_equal(id, other);
    assert_int_equal(wsrm_active("EX1"), 2);
    assert_int_equal(wsrm_active("EX2"), 0);
}

static void test_numbering_and_acks(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX];
    UNUSED(state);

    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_ack("EX1", id, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "");
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_OK);
    assert_int_equal(st.reply, 1);
    assert_string_equal(ranges(&st), "1-1");
    assert_int_equal(wsrm_message("EX1", id, 2, 0, &st), WSRM_OK);
    assert_int_equal(st.reply, 2);
    assert_string_equal(ranges(&st), "1-2");

    /* a retransmission: the same reply number, nothing new */
    assert_int_equal(wsrm_message("EX1", id, 2, 0, &st), WSRM_DUPLICATE);
    assert_int_equal(st.reply, 2);
    assert_string_equal(ranges(&st), "1-2");

    /* a gap: taken at once, the acknowledgement shows the hole until it is filled */
    assert_int_equal(wsrm_message("EX1", id, 4, 0, &st), WSRM_OK);
    assert_int_equal(st.reply, 3);
    assert_string_equal(ranges(&st), "1-2,4-4");
    assert_int_equal(wsrm_message("EX1", id, 6, 0, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "1-2,4-4,6-6");
    assert_int_equal(wsrm_message("EX1", id, 4, 0, &st), WSRM_DUPLICATE);
    assert_int_equal(st.reply, 3);
    assert_int_equal(wsrm_message("EX1", id, 3, 0, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "1-4,6-6");
    assert_int_equal(wsrm_message("EX1", id, 5, 0, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "1-6");
    assert_int_equal(st.contiguous, 6);
    assert_int_equal(st.above, 0);

    /* beyond the transfer window of WCF: dropped, not acknowledged */
    assert_int_equal(wsrm_message("EX1", id, 6 + WSRM_WINDOW + 1, 0, &st), WSRM_DROPPED);
    assert_int_equal(st.reply, 0);
    assert_string_equal(ranges(&st), "1-6");
    assert_int_equal(wsrm_message("EX1", id, 6 + WSRM_WINDOW, 0, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "1-6,14-14");

    /* an old retransmission whose reply the table no longer remembers (9 took the place of 1):
     * acknowledgement only */
    assert_int_equal(wsrm_message("EX1", id, 9, 0, &st), WSRM_OK);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_DUPLICATE);
    assert_int_equal(st.reply, 0);
}

static void test_last_message(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX];
    UNUSED(state);

    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_OK);
    assert_int_equal(wsrm_message("EX1", id, 3, 0, &st), WSRM_OK);
    /* LastMessage must come after every number seen */
    assert_int_equal(wsrm_message("EX1", id, 2, 1, &st), WSRM_LAST_EXCEEDED);
    assert_int_equal(wsrm_message("EX1", id, 2, 0, &st), WSRM_OK);
    assert_int_equal(wsrm_message("EX1", id, 4, 1, &st), WSRM_OK);
    assert_int_equal(st.last, 4);
    assert_int_equal(st.reply, 4);
    /* nothing after it, and no second one */
    assert_int_equal(wsrm_message("EX1", id, 5, 0, &st), WSRM_LAST_EXCEEDED);
    assert_int_equal(wsrm_message("EX1", id, 5, 1, &st), WSRM_LAST_EXCEEDED);
    /* the same LastMessage again is a retransmission */
    assert_int_equal(wsrm_message("EX1", id, 4, 1, &st), WSRM_DUPLICATE);
    assert_int_equal(st.reply, 4);
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_OK);
    assert_int_equal(st.active, 0);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_UNKNOWN);
}

static void test_terminate(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX];
    UNUSED(state);

    /* February 2005: before LastMessage, or with a hole, TerminateSequence faults the session */
    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_OK);
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_EARLY_TERMINATE);
    assert_string_equal(st.offer, "urn:uuid:offer");
    assert_int_equal(wsrm_ack("EX1", id, &st), WSRM_UNKNOWN);
    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_message("EX1", id, 2, 1, &st), WSRM_OK);
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_EARLY_TERMINATE);
    /* a session without any operation closes with LastMessage number 1 */
    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_message("EX1", id, 1, 1, &st), WSRM_OK);
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_OK);
    assert_string_equal(ranges(&st), "1-1");
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_UNKNOWN);
    /* 1.1: CloseSequence, then nothing new, then TerminateSequence */
    create("EX1", WSRM_2007, id);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_OK);
    assert_int_equal(wsrm_close("EX1", id, &st), WSRM_OK);
    assert_true(st.closed);
    assert_int_equal(wsrm_message("EX1", id, 2, 0, &st), WSRM_CLOSED);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_DUPLICATE);
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_OK);
    assert_int_equal(wsrm_close("EX1", id, &st), WSRM_UNKNOWN);
    assert_int_equal(wsrm_active("EX1"), 0);
}

/* A fault from the client (WCF's abort) drops the session it names by either identifier, on
 * its own server only. */
static void test_abandon(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX], other[WSRM_ID_MAX];
    UNUSED(state);

    create("EX1", WSRM_2005, id);
    create("EX1", WSRM_2005, other);
    assert_int_equal(wsrm_message("EX1", id, 1, 0, &st), WSRM_OK);
    /* by the offered identifier, as WCF's SequenceTerminated names it; the other session and
     * another server's table are untouched */
    assert_int_equal(wsrm_abandon("EX2", "urn:uuid:offer", &st), WSRM_UNKNOWN);
    assert_int_equal(wsrm_abandon("EX1", "URN:UUID:OFFER", &st), WSRM_OK);
    assert_int_equal(wsrm_active("EX1"), 1);
    assert_int_equal(wsrm_abandon("EX1", "urn:uuid:offer", &st), WSRM_OK);
    assert_int_equal(wsrm_active("EX1"), 0);
    assert_int_equal(wsrm_message("EX1", id, 2, 0, &st), WSRM_UNKNOWN);
    assert_int_equal(wsrm_message("EX1", other, 1, 0, &st), WSRM_UNKNOWN);
    /* by the server's own identifier */
    create("EX1", WSRM_2005, id);
    assert_int_equal(wsrm_abandon("EX1", id, &st), WSRM_OK);
    assert_string_equal(st.id, id);
    assert_int_equal(wsrm_active("EX1"), 0);
    assert_int_equal(wsrm_abandon("EX1", id, &st), WSRM_UNKNOWN);
}

static void test_expiry(void **state)
{
    struct wsrm_state st;
    char a[WSRM_ID_MAX], b[WSRM_ID_MAX];
    UNUSED(state);

    create("EX1", WSRM_2005, a);
    fake_ms += 1000;
    create("EX1", WSRM_2005, b);
    /* activity keeps A alive past the timeout counted from its creation */
    fake_ms += WSRM_INACTIVITY_MS - 1000 - 1;
    assert_int_equal(wsrm_message("EX1", a, 1, 0, &st), WSRM_OK);
    fake_ms += 1000;
    assert_int_equal(wsrm_active("EX1"), 2);
    fake_ms += 1; /* B has been idle for the whole timeout */
    assert_int_equal(wsrm_active("EX1"), 1);
    assert_int_equal(wsrm_ack("EX1", b, &st), WSRM_UNKNOWN);
    fake_ms += WSRM_INACTIVITY_MS - 1000 - 2;
    assert_int_equal(wsrm_ack("EX1", a, &st), WSRM_OK);
    fake_ms += WSRM_INACTIVITY_MS;
    assert_int_equal(wsrm_message("EX1", a, 2, 0, &st), WSRM_UNKNOWN);
    assert_int_equal(wsrm_active("EX1"), 0);
}

static void test_limit_per_server(void **state)
{
    struct wsrm_state st;
    char id[WSRM_ID_MAX];
    UNUSED(state);

    assert_int_equal(wsrm_create("EX1", 2, WSRM_2005, "o", &st), WSRM_OK);
    memcpy(id, st.id, sizeof(id));
    assert_int_equal(wsrm_create("EX1", 2, WSRM_2005, "o", &st), WSRM_OK);
    assert_int_equal(st.active, 2);
    assert_int_equal(wsrm_create("ex1", 2, WSRM_2005, "o", &st), WSRM_LIMIT);
    assert_int_equal(st.active, 2);
    /* the limit is each server's own */
    assert_int_equal(wsrm_create("EX2", 2, WSRM_2005, "o", &st), WSRM_OK);
    assert_int_equal(st.active, 1);
    /* a session ends: room again */
    assert_int_equal(wsrm_terminate("EX1", id, &st), WSRM_EARLY_TERMINATE);
    assert_int_equal(wsrm_create("EX1", 2, WSRM_2005, "o", &st), WSRM_OK);
    assert_int_equal(wsrm_create("EX1", 2, WSRM_2005, "o", &st), WSRM_LIMIT);
    /* sessions that expired do not count */
    fake_ms += WSRM_INACTIVITY_MS;
    assert_int_equal(wsrm_create("EX1", 2, WSRM_2005, "o", &st), WSRM_OK);
    assert_int_equal(st.active, 1);
    /* MRSProxyMaxConnections 0 refuses every session */
    assert_int_equal(wsrm_create("EX3", 0, WSRM_2005, "o", &st), WSRM_LIMIT);
    assert_int_equal(st.active, 0);
}

#define THREADS 8
#define ROUNDS 300

static const char *const servers[] = {"EX1", "EX2", "EX3"};

static void *hammer(void *arg)
{
    const char *server = servers[(uintptr_t)arg % 3];
    struct wsrm_state st;
    char id[WSRM_ID_MAX];
    long bad = 0;

    for (int r = 0; r < ROUNDS; r++) {
        if (wsrm_create(server, 1000000, WSRM_2005, "urn:uuid:offer", &st) != WSRM_OK) {
            bad++;
            continue;
        }
        memcpy(id, st.id, sizeof(id));
        for (uint64_t n = 1; n <= 5; n++)
            if (wsrm_message(server, id, n, 0, &st) != WSRM_OK || st.reply != n)
                bad++;
        if (wsrm_message(server, id, 6, 1, &st) != WSRM_OK || wsrm_ack(server, id, &st) != WSRM_OK)
            bad++;
        if (wsrm_message(servers[((uintptr_t)arg + 1) % 3], id, 7, 0, &st) != WSRM_UNKNOWN)
            bad++;
        if (wsrm_terminate(server, id, &st) != WSRM_OK)
            bad++;
        (void)wsrm_active(server);
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t t[THREADS];
    UNUSED(state);

    for (uintptr_t i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((uintptr_t)bad, 0);
    }
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(wsrm_active(servers[i]), 0);
}

/* Writes the headers inside an envelope that declares their prefixes, and reads them back. */
static xmlDoc *written(const struct wsrm_state *st, int with_sequence)
{
    xmlBufferPtr buf = xmlBufferCreate();
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    xmlDoc *doc;

    xmlTextWriterStartElement(w, BAD_CAST "s:Header");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:s",
                                BAD_CAST "http://www.w3.org/2003/05/soap-envelope");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:r", BAD_CAST wsrm_protos[st->version].ns);
    if (with_sequence)
        wsrm_write_sequence(w, st->offer, 7, 1);
    wsrm_write_ack(w, st);
    xmlTextWriterEndElement(w);
    xmlFreeTextWriter(w);
    doc = xmlReadMemory((const char *)xmlBufferContent(buf), xmlBufferLength(buf), NULL, NULL,
                        XML_PARSE_NONET);
    xmlBufferFree(buf);
    assert_non_null(doc);
    return doc;
}

static xmlNode *child(xmlNode *n, const char *name)
{
    for (n = n->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0)
            return n;
    return NULL;
}

static void test_headers(void **state)
{
    struct wsrm_state st = {.version = WSRM_2005,
                            .id = "urn:uuid:11111111-1111-4111-8111-111111111111",
                            .offer = "urn:uuid:22222222-2222-4222-8222-222222222222"};
    xmlDoc *doc;
    xmlNode *ack, *range, *seq;
    xmlChar *v;
    UNUSED(state);

    /* nothing received yet: WCF's 0-0 range */
    doc = written(&st, 0);
    ack = child(xmlDocGetRootElement(doc), "SequenceAcknowledgement");
    assert_non_null(ack);
    assert_string_equal((const char *)ack->ns->href, wsrm_protos[WSRM_2005].ns);
    range = child(ack, "AcknowledgementRange");
    v = xmlGetProp(range, BAD_CAST "Upper");
    assert_string_equal((const char *)v, "0");
    xmlFree(v);
    v = xmlGetProp(range, BAD_CAST "Lower");
    assert_string_equal((const char *)v, "0");
    xmlFree(v);
    v = xmlNodeGetContent(child(ack, "BufferRemaining"));
    assert_string_equal((const char *)v, "8");
    xmlFree(v);
    assert_null(child(ack, "Final"));
    xmlFreeDoc(doc);

    /* 1-3 and 5-5, on a closed 1.1 sequence: Final */
    st.version = WSRM_2007;
    st.contiguous = 3;
    st.above = 1; /* message 5 */
    st.closed = 1;
    doc = written(&st, 1);
    seq = child(xmlDocGetRootElement(doc), "Sequence");
    v = xmlNodeGetContent(child(seq, "Identifier"));
    assert_string_equal((const char *)v, st.offer);
    xmlFree(v);
    v = xmlNodeGetContent(child(seq, "MessageNumber"));
    assert_string_equal((const char *)v, "7");
    xmlFree(v);
    assert_non_null(child(seq, "LastMessage"));
    v = xmlGetNsProp(seq, BAD_CAST "mustUnderstand",
                     BAD_CAST "http://www.w3.org/2003/05/soap-envelope");
    assert_string_equal((const char *)v, "1");
    xmlFree(v);
    ack = child(xmlDocGetRootElement(doc), "SequenceAcknowledgement");
    assert_string_equal((const char *)ack->ns->href, wsrm_protos[WSRM_2007].ns);
    v = xmlNodeGetContent(child(ack, "Identifier"));
    assert_string_equal((const char *)v, st.id);
    xmlFree(v);
    int n = 0;
    for (range = ack->children; range != NULL; range = range->next)
        if (range->type == XML_ELEMENT_NODE &&
            strcmp((const char *)range->name, "AcknowledgementRange") == 0)
            n++;
    assert_int_equal(n, 2);
    assert_non_null(child(ack, "Final"));
    xmlFreeDoc(doc);
}

static void test_vocabulary(void **state)
{
    UNUSED(state);
    assert_int_equal(wsrm_version_of_ns("http://schemas.xmlsoap.org/ws/2005/02/rm"), WSRM_2005);
    assert_int_equal(wsrm_version_of_ns("http://docs.oasis-open.org/ws-rx/wsrm/200702"), WSRM_2007);
    assert_int_equal(wsrm_version_of_ns("http://www.w3.org/2005/08/addressing"), -1);
    assert_int_equal(wsrm_version_of_action(wsrm_protos[WSRM_2007].terminate_sequence), WSRM_2007);
    assert_int_equal(wsrm_version_of_action("http://schemas.xmlsoap.org/ws/2005/02/rmX/a"), -1);
    assert_int_equal(wsrm_version_of_action(NULL), -1);
    assert_null(wsrm_protos[WSRM_2005].terminate_sequence_response);
    assert_null(wsrm_protos[WSRM_2007].last_message);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_lookup_per_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbering_and_acks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_terminate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_abandon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limit_per_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
        cmocka_unit_test(test_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
