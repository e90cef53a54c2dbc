/*
 * test_topology — the topology part of the model: accepted domains, proxy addresses, server
 * states and services, balancers with their members, and a message per mistake.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define DATA MRSMOCK_SRCDIR "/tests/data/scenarios/"

static void test_model(void **state)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "topology-ok.xml", &e);
    (void)state;

    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    assert_int_equal(e.count, 0);

    /* the organisation's domain is the default accepted domain; the written one follows */
    assert_int_equal(s->num_accepted_domains, 2);
    assert_string_equal(s->accepted_domains[0].name, "contoso.com");
    assert_true(s->accepted_domains[0].is_default);
    assert_string_equal(s->accepted_domains[1].name, "fabrikam.com");
    assert_int_equal(s->accepted_domains[1].type, SCN_DOMAIN_AUTHORITATIVE);
    assert_true(scn_domain_accepted(s, "FABRIKAM.com", 12));
    assert_false(scn_domain_accepted(s, "old.example", 11));

    /* proxy addresses without their smtp: prefix */
    const struct scn_account *a = scn_account_by_logon(s, NULL, 0, "admin", 5);
    assert_non_null(a);
    assert_int_equal(a->num_proxy_addresses, 2);
    assert_string_equal(a->proxy_addresses[0], "admin@old.example");
    assert_string_equal(a->proxy_addresses[1], "admin@fabrikam.com");

    /* states and services: running by default; passive stops them; nothing runs on a dead one */
    const struct scn_server *ex1 = scn_server_by_name(s, "EX1"),
                            *ex2 = scn_server_by_name(s, "ex2"),
                            *ex3 = scn_server_by_name(s, "EX3");
    assert_int_equal(ex1->state, SCN_SERVER_RUNNING);
    assert_true(scn_service_runs(ex1, SCN_SVC_MRS));
    assert_int_equal(ex2->state, SCN_SERVER_PASSIVE);
    assert_false(scn_service_runs(ex2, SCN_SVC_MRS));
    assert_int_equal(ex3->state, SCN_SERVER_DEAD);
    assert_false(scn_service_runs(ex3, SCN_SVC_MRS));
    assert_string_equal(scn_service_name(SCN_SVC_MRS), "MSExchangeMailboxReplication");

    /* the balancer and its members; the listener's server is its first member */
    const struct scn_listener *l = scn_listener_by_name(s, "edge");
    const struct scn_balancer *b = l->balancer;
    assert_non_null(b);
    assert_string_equal(b->name, "LB1");
    assert_false(b->layer7);
    assert_int_equal(b->policy, SCN_LB_ROUND_ROBIN);
    assert_int_equal(b->check, SCN_LB_CHECK_HTTP);
    assert_string_equal(b->check_path, "/EWS/healthcheck.htm");
    assert_int_equal(b->num_members, 2);
    assert_ptr_equal(b->members[0].server, ex1);
    assert_null(b->members[0].cert);
    assert_int_equal(b->members[0].down.from, 0);
    assert_ptr_equal(b->members[1].server, ex2);
    assert_string_equal(b->members[1].cert->id, "mail");
    assert_int_equal(b->members[1].down.from, 3);
    assert_int_equal(b->members[1].down.to, 4);
    assert_int_equal(b->members[1].down.period, 10);
    assert_false(b->members[1].down.seconds);
    assert_ptr_equal(l->server, ex1);
    scn_unref(s);
}

/* Every mistake of the fixture, each with its line. */
static void test_errors(void **state)
{
    static const char *const want[] = {
        "topology-errors.xml:5: bad value \"4-3\" for down",
        "topology-errors.xml:2: server \"EX2\": unknown service \"Foo\"",
        "topology-errors.xml:4: balancer \"EX2\": check-path must be a path starting with \"/\"",
        "topology-errors.xml:4: balancer \"EX2\": cookie affinity needs mode=\"layer7\"",
        "topology-errors.xml:4: balancer \"EX2\": a server has that name",
        "topology-errors.xml:6: balancer \"EX2\": server \"EX9\" does not exist",
        "topology-errors.xml:6: balancer \"EX2\": member \"EX9\": certificate \"nope\" is not "
        "defined",
        "topology-errors.xml:3: listener \"edge\": server \"EX2\" is not a member of its balancer",
    };
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "topology-errors.xml", &e);
    (void)state;

    assert_null(s);
    assert_non_null(e.text);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(e.text, want[i]) == NULL)
            fail_msg("missing \"%s\" in:\n%s", want[i], e.text);
    assert_int_equal(e.count, sizeof(want) / sizeof(want[0]));
    scn_errors_free(&e);
}

/* Roles: a 2013 server may be one of the two; a 2016 one is both; mailboxes need the Mailbox
 * role, listeners the Client Access role; the MRS is installed where each version puts it. */
static void test_roles(void **state)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "roles-ok.xml", &e);
    (void)state;

    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    const struct scn_server *cas = scn_server_by_name(s, "EX1"),
                            *mbx = scn_server_by_name(s, "MBX1");
    assert_int_equal(cas->roles, SCN_ROLE_CLIENT_ACCESS);
    assert_int_equal(mbx->roles, SCN_ROLE_MAILBOX);
    assert_false(scn_service_installed(cas, SCN_SVC_MRS));
    assert_false(scn_service_runs(cas, SCN_SVC_MRS));
    assert_true(scn_service_runs(mbx, SCN_SVC_MRS));
    scn_unref(s);

    s = scn_load(DATA "roles-errors.xml", &e);
    assert_null(s);
    static const char *const want[] = {
        "roles-errors.xml:3: server \"EX2\": Exchange 2016 has no Client Access role of its own",
        "account \"admin\": its mailbox's server \"EX1\" has no Mailbox role",
        "account \"user1\": its mailbox's server \"EX1\" has no Mailbox role",
        "roles-errors.xml:5: listener \"other\": server \"EX3\" has no Client Access role",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(e.text, want[i]) == NULL)
            fail_msg("missing \"%s\" in:\n%s", want[i], e.text);
    assert_int_equal(e.count, 4);
    scn_errors_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_roles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
