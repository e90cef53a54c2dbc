/*
 * test_admin_topology — what GET /topology says of bundled scenarios, from the model alone:
 * each certificate's problems as a client would find them, balancers and their members, servers
 * with what is broken on them, the scenario's own words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>
#include <jansson.h>

#include "admin.h"
#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define BUNDLED MRSMOCK_SRCDIR "/scenarios/"
#define NOW ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

static json_t *topology_of(const char *name)
{
    char path[512];
    struct scn_errors e = {0};
    struct scn *s;
    json_t *t;

    snprintf(path, sizeof(path), "%s%s.xml", BUNDLED, name);
    s = scn_load(path, &e);
    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    t = admin_topology_json(s, NULL, NOW);
    assert_non_null(t);
    scn_unref(s);
    scn_errors_free(&e);
    return t;
}

/* Whether PROBLEMS (an array of {code, text}) holds CODE, with TEXT containing WORDS. */
static int has_problem(const json_t *problems, const char *code, const char *words)
{
    size_t i;
    json_t *p;

    json_array_foreach(problems, i, p)
    {
        const char *c = json_string_value(json_object_get(p, "code"));
        const char *t = json_string_value(json_object_get(p, "text"));
        if (c != NULL && strcmp(c, code) == 0 && (words == NULL || strstr(t, words) != NULL))
            return 1;
    }
    return 0;
}

static json_t *listener0(json_t *t)
{
    return json_array_get(json_object_get(t, "listeners"), 0);
}

static json_t *server_named(json_t *t, const char *name)
{
    size_t i;
    json_t *sv;

    json_array_foreach(json_object_get(t, "servers"), i, sv)
    {
        if (strcmp(json_string_value(json_object_get(sv, "name")), name) == 0)
            return sv;
    }
    fail_msg("no server %s", name);
    return NULL;
}

static void test_healthy_has_no_problem(void **state)
{
    json_t *t = topology_of("healthy"), *l = listener0(t), *c, *sv;
    size_t i;
    (void)state;

    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "scenario"), "name")),
                        "healthy");
    assert_true(json_is_true(json_object_get(l, "tls")));
    assert_string_equal(json_string_value(json_object_get(l, "url")), "https://127.0.0.1:8443");
    c = json_array_get(json_object_get(l, "certificates"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "id")), "mail");
    assert_int_equal(json_array_size(json_object_get(c, "problems")), 0);
    /* 2026-01-01 less the default 30 days */
    assert_string_equal(json_string_value(json_object_get(c, "not_before")),
                        "2025-12-02T00:00:00Z");
    json_array_foreach(json_object_get(t, "servers"), i, sv)
    {
        assert_int_equal(json_array_size(json_object_get(sv, "problems")), 0);
        assert_true(json_is_true(json_object_get(sv, "mrsproxy_enabled")));
    }
    sv = server_named(t, "EX1");
    assert_string_equal(json_string_value(json_object_get(sv, "build")), "15.1.2507.6");
    assert_string_equal(json_string_value(json_object_get(sv, "state")), "running");
    json_t *ews = json_array_get(json_object_get(sv, "vdirs"), 0);
    assert_string_equal(json_string_value(json_object_get(ews, "name")), "EWS");
    assert_true(json_array_size(json_object_get(ews, "auth")) >= 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ews, "app_pool"), "state")), "started");
    assert_true(json_is_true(
        json_object_get(json_array_get(json_object_get(t, "accepted_domains"), 0), "default")));
    json_decref(t);
}

static void test_expired_certificate(void **state)
{
    json_t *t = topology_of("expired-certificate");
    json_t *c = json_array_get(json_object_get(listener0(t), "certificates"), 0);
    (void)state;

    assert_true(has_problem(json_object_get(c, "problems"), "expired", "30 days ago"));
    assert_string_equal(json_string_value(json_object_get(c, "not_after")), "2025-12-02T00:00:00Z");
    json_decref(t);
}

static void test_secondary_wrong_certificate(void **state)
{
    json_t *t = topology_of("secondary-wrong-certificate"), *l = listener0(t);
    json_t *b = json_object_get(l, "balancer"), *members = json_object_get(b, "members");
    json_t *c = json_array_get(json_object_get(l, "certificates"), 0);
    (void)state;

    assert_true(json_is_null(json_object_get(l, "server")));
    assert_string_equal(json_string_value(json_object_get(b, "name")), "LB1");
    assert_string_equal(json_string_value(json_object_get(b, "mode")), "layer4");
    assert_string_equal(json_string_value(json_object_get(b, "policy")), "round-robin");
    assert_string_equal(json_string_value(json_object_get(b, "check")), "tcp");
    assert_int_equal(json_array_size(members), 2);
    /* the listener's own certificate is fine for every name clients use */
    assert_int_equal(json_array_size(json_object_get(c, "problems")), 0);
    /* EX1 serves it; EX2's binding its self-signed one, which names neither mail nor
     * autodiscover */
    assert_int_equal(json_array_size(json_object_get(json_array_get(members, 0), "certificates")),
                     0);
    json_t *ex2 = json_array_get(members, 1);
    assert_string_equal(json_string_value(json_object_get(ex2, "server")), "EX2");
    json_t *p =
        json_object_get(json_array_get(json_object_get(ex2, "certificates"), 0), "problems");
    assert_true(has_problem(p, "self-signed", NULL));
    assert_true(has_problem(p, "name-mismatch", "mail.contoso.com"));
    assert_true(has_problem(p, "name-mismatch", "autodiscover.contoso.com"));
    assert_false(has_problem(p, "name-mismatch", "ex2.contoso.com"));
    json_decref(t);
}

static void test_dead_server_and_app_pool(void **state)
{
    json_t *t = topology_of("dead-server"), *sv;
    (void)state;

    sv = server_named(t, "EX3");
    assert_string_equal(json_string_value(json_object_get(sv, "state")), "dead");
    assert_string_equal(json_string_value(json_object_get(sv, "ip")), "10.0.0.23");
    assert_true(has_problem(json_object_get(sv, "problems"), "dead", "EX3"));
    /* its directories' settings are left in Active Directory: the one problem is that it is dead */
    assert_int_equal(json_array_size(json_object_get(sv, "problems")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(sv, "services"), 0), "status")),
                        "Stopped");
    json_decref(t);

    t = topology_of("app-pool-stopped");
    sv = server_named(t, "EX1");
    assert_true(has_problem(json_object_get(sv, "problems"), "app-pool",
                            "MSExchangeServicesAppPool is stopped"));
    json_decref(t);
}

static void test_certificate_kinds(void **state)
{
    static const struct {
        const char *scenario, *code;
    } rows[] = {
        {"weak-signature", "weak-digest"},
        {"missing-intermediate", "leaf-only"},
        {"self-signed", "self-signed"},
        {"name-mismatch", "name-mismatch"},
        {"untrusted-certificate", "untrusted-issuer"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        json_t *t = topology_of(rows[i].scenario), *c;
        size_t k;
        int found = 0;
        json_array_foreach(json_object_get(listener0(t), "certificates"), k, c)
        {
            found |= has_problem(json_object_get(c, "problems"), rows[i].code, NULL);
        }
        if (!found)
            fail_msg("%s: no %s problem", rows[i].scenario, rows[i].code);
        json_decref(t);
    }
}

static void test_mrsproxy_disabled(void **state)
{
    json_t *t = topology_of("mrsproxy-disabled");
    (void)state;

    assert_true(has_problem(json_object_get(server_named(t, "EX1"), "problems"),
                            "mrsproxy-disabled", NULL));
    assert_true(json_is_false(json_object_get(server_named(t, "EX1"), "mrsproxy_enabled")));
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy_has_no_problem),
        cmocka_unit_test(test_expired_certificate),
        cmocka_unit_test(test_secondary_wrong_certificate),
        cmocka_unit_test(test_dead_server_and_app_pool),
        cmocka_unit_test(test_certificate_kinds),
        cmocka_unit_test(test_mrsproxy_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
