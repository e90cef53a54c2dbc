/*
 * test_faults — fault rules: the model (faults-ok.xml and the file:line message of every
 * mistake in faults-errors.xml), the stage names the model and the pipeline share, and how a
 * rule picks its requests (counts, ranges, time windows, the seeded chance).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "faults.h"
#include "pipeline.h"
#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define DATA MRSMOCK_SRCDIR "/tests/data/scenarios/"

static void test_model(void **state)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "faults-ok.xml", &e);
    (void)state;

    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    assert_int_equal(s->fault_seed, 7);
    assert_int_equal(s->num_faults, 4);
    const struct scn_fault *f = &s->faults[0];
    assert_string_equal(f->name, "mrs-503");
    assert_string_equal(scn_stage_name(f->stage), "frontend");
    assert_int_equal(f->action, SCN_FAULT_STATUS);
    assert_int_equal(f->status, 503);
    assert_int_equal(f->by, SCN_FAULT_BY_STAGE);
    assert_string_equal(f->body, "busy");
    assert_int_equal(f->body_len, 4);
    assert_string_equal(f->headers[0], "Retry-After");
    assert_string_equal(f->headers[1], "5");
    assert_null(f->headers[2]);
    assert_string_equal(f->when.path, "/EWS/mrsproxy.svc");
    assert_int_equal(f->when.every, 3);
    assert_int_equal(f->when.percent, 50);
    f = &s->faults[1];
    assert_int_equal(f->action, SCN_FAULT_DELAY);
    assert_int_equal(f->delay_ms, 250);
    assert_int_equal(f->when.num_sources, 2);
    assert_int_equal(f->when.after_ms, 1000);
    assert_int_equal(f->when.before_ms, 60000);
    assert_int_equal(f->when.percent, 100);           /* the default */
    assert_int_equal(s->faults[2].bytes, UINT32_MAX); /* truncate: half, by default */
    assert_string_equal(s->faults[2].when.header, "User-Agent: curl");
    assert_int_equal(s->faults[3].bytes, 10);
    assert_string_equal(scn_fault_action_name(SCN_FAULT_BAD_LENGTH), "bad-length");
    scn_unref(s);
}

/* Every mistake of the fixture, each with its line. */
static void test_errors(void **state)
{
    static const char *const want[] = {
        "faults-errors.xml:2: bad value \"-1\" for seed",
        "faults-errors.xml:3: bad value \"nowhere\" for stage: expected urlfilter, balancer, route",
        "faults-errors.xml:4: fault \"f2\": action \"status\" needs a status",
        "faults-errors.xml:5: fault \"f3\": action \"delay\" needs a delay",
        "faults-errors.xml:7: fault \"f4\": no listener \"nope\"",
        "faults-errors.xml:7: fault \"f4\": no server \"EX9\"",
        "faults-errors.xml:7: fault \"f4\": path \"ews\" must start with \"/\"",
        "faults-errors.xml:7: fault \"f4\": to=\"3\" comes before from=\"5\"",
        "faults-errors.xml:7: fault \"f4\": before must be later than after",
        "faults-errors.xml:9: fault \"f5\": cannot read body-file",
        "faults-errors.xml:10: bad value \"700\" for status",
        "faults-errors.xml:11: bad value \"101\" for percent",
        "faults-errors.xml:11: fault \"f6\": nth picks one request",
        "faults-errors.xml:12: fault \"f6\": header \"Bad Name\": not a header name and value",
    };
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "faults-errors.xml", &e);
    (void)state;

    assert_null(s);
    assert_non_null(e.text);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(e.text, want[i]) == NULL)
            fail_msg("missing \"%s\" in:\n%s", want[i], e.text);
    scn_errors_free(&e);
}

/* The names fault rules use are the pipeline's, in its order. */
static void test_stage_names(void **state)
{
    size_t i;
    (void)state;

    for (i = 0; pipeline_stage_name(i) != NULL; i++) {
        assert_non_null(scn_stage_name((int)i));
        assert_string_equal(pipeline_stage_name(i), scn_stage_name((int)i));
    }
    assert_null(scn_stage_name((int)i));
}

static void test_pick_counts(void **state)
{
    struct scn_fault r = {.when = {.percent = 100}};
    (void)state;

    r.when.nth = 3;
    for (uint64_t k = 1; k <= 6; k++)
        assert_int_equal(faults_pick(&r, 1, 0, k, 0), k == 3);
    r.when.nth = 0;
    r.when.every = 2;
    r.when.from = 3;
    r.when.to = 8;
    for (uint64_t k = 1; k <= 10; k++)
        assert_int_equal(faults_pick(&r, 1, 0, k, 0), k % 2 == 0 && k >= 3 && k <= 8);
    r.when = (struct scn_fault_when){.percent = 100, .after_ms = 1000, .before_ms = 2000};
    assert_false(faults_pick(&r, 1, 0, 1, 999));
    assert_true(faults_pick(&r, 1, 0, 1, 1000));
    assert_true(faults_pick(&r, 1, 0, 1, 1999));
    assert_false(faults_pick(&r, 1, 0, 1, 2000));
}

/* The chance: about what it says, the same for the same seed, rule and request, another for
 * another seed or another rule. */
static void test_pick_chance(void **state)
{
    struct scn_fault r = {.when = {.percent = 25}};
    unsigned hits = 0, same = 0, other_seed = 0, other_rule = 0;
    (void)state;

    for (uint64_t k = 1; k <= 20000; k++) {
        int a = faults_pick(&r, 42, 0, k, 0);
        hits += (unsigned)a;
        same += a == faults_pick(&r, 42, 0, k, 0);
        other_seed += a != faults_pick(&r, 43, 0, k, 0);
        other_rule += a != faults_pick(&r, 42, 1, k, 0);
    }
    assert_in_range(hits, 4500, 5500);
    assert_int_equal(same, 20000);
    assert_true(other_seed > 2000);
    assert_true(other_rule > 2000);
    r.when.percent = 0;
    for (uint64_t k = 1; k <= 1000; k++)
        assert_false(faults_pick(&r, 42, 0, k, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),       cmocka_unit_test(test_errors),
        cmocka_unit_test(test_stage_names), cmocka_unit_test(test_pick_counts),
        cmocka_unit_test(test_pick_chance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
