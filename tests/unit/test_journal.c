/*
 * Unit tests for the journal's ring: ids, filters, "since", overwriting and the dropped count,
 * reset, and writers on several threads never leaving a torn or lost entry among the last ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"

static uint64_t add(const char *server, const char *path, unsigned status)
{
    struct journal_entry e = {.status = status};
    snprintf(e.server, sizeof(e.server), "%s", server);
    snprintf(e.path, sizeof(e.path), "%s", path);
    snprintf(e.method, sizeof(e.method), "POST");
    snprintf(e.why, sizeof(e.why), "auth: %s %u", path, status);
    return journal_add(&e);
}

static void test_ids_filters_and_since(void **state)
{
    struct journal_entry out[8];
    size_t total;
    (void)state;

    journal_init(8);
    assert_int_equal(add("EX1", "/EWS/mrsproxy.svc", 401), 1);
    assert_int_equal(add("EX2", "/EWS/mrsproxy.svc", 200), 2);
    assert_int_equal(add("EX1", "/Autodiscover/Autodiscover.xml", 200), 3);
    assert_int_equal(journal_find(NULL, out, 8, &total, NULL), 3);
    assert_int_equal(total, 3);
    assert_int_equal(out[0].id, 1); /* oldest first */
    assert_string_equal(out[2].why, "auth: /Autodiscover/Autodiscover.xml 200");
    assert_int_equal(journal_find(&(struct journal_filter){.server = "ex1"}, out, 8, NULL, NULL),
                     2);
    assert_int_equal(journal_find(&(struct journal_filter){.status = 200, .path_prefix = "/ews"},
                                  out, 8, NULL, NULL),
                     1);
    assert_string_equal(out[0].server, "EX2");
    assert_int_equal(journal_find(&(struct journal_filter){.since = 2}, out, 8, NULL, NULL), 1);
    assert_int_equal(out[0].id, 3);
    /* MAX bounds what is copied, not what is counted */
    uint64_t upto;
    assert_int_equal(journal_find(NULL, out, 1, &total, &upto), 1);
    assert_int_equal(total, 3);
    assert_int_equal(upto, 3); /* all complete */
    assert_int_equal(
        journal_find(&(struct journal_filter){.complete_only = 1}, out, 8, &total, &upto), 3);
    journal_free();
}

static void test_overwrite_dropped_and_reset(void **state)
{
    struct journal_entry out[4];
    (void)state;

    journal_init(4);
    for (int i = 0; i < 10; i++)
        add("EX1", "/EWS/Exchange.asmx", 200 + (unsigned)i);
    assert_int_equal(journal_written(), 10);
    assert_int_equal(journal_dropped(), 6);
    assert_int_equal(journal_find(NULL, out, 4, NULL, NULL), 4);
    assert_int_equal(out[0].id, 7);
    assert_int_equal(out[3].status, 209);
    journal_reset();
    assert_int_equal(journal_find(NULL, out, 4, NULL, NULL), 0);
    assert_int_equal(journal_dropped(), 0);
    assert_int_equal(add("EX1", "/EWS", 401), 11); /* ids keep counting */
    assert_int_equal(journal_find(NULL, out, 4, NULL, NULL), 1);
    journal_free();
}

#define WRITERS 4
#define PER_WRITER 5000

static void *writer(void *arg)
{
    char path[32];
    for (int i = 0; i < PER_WRITER; i++) {
        snprintf(path, sizeof(path), "/w%d/%d", (int)(intptr_t)arg, i);
        add("EX1", path, 200);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    pthread_t t[WRITERS];
    struct journal_entry *out = calloc(256, sizeof(*out));
    size_t n;
    (void)state;

    journal_init(256);
    for (intptr_t i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)i), 0);
    /* a reader meanwhile: whatever it copies is whole (its why matches its path) */
    for (int round = 0; round < 200; round++) {
        n = journal_find(NULL, out, 256, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
            char want[600];
            snprintf(want, sizeof(want), "auth: %s 200", out[i].path);
            assert_string_equal(out[i].why, want);
            assert_true(i == 0 || out[i].id > out[i - 1].id);
        }
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(journal_written(), WRITERS * PER_WRITER);
    assert_int_equal(journal_find(NULL, out, 256, NULL, NULL), 256); /* the last 256, all there */
    assert_int_equal(out[255].id, WRITERS * PER_WRITER);
    free(out);
    journal_free();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_filters_and_since),
        cmocka_unit_test(test_overwrite_dropped_and_reset),
        cmocka_unit_test(test_concurrent_writers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
