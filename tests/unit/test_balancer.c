/*
 * test_balancer — the balancer's decisions (balancer.h) and its HAProxy lines (halog.h): which
 * member each arrival gets under a down schedule and the HTTP check, fail-over, and the exact
 * tcplog, httplog and health-check lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balancer.h"
#include "halog.h"
#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif

static struct scn *load(void)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(MRSMOCK_SRCDIR "/tests/data/scenarios/lb-unit.xml", &e);
    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    return s;
}

static char *read_all(const char *dir)
{
    char cmd[700], *buf = calloc(1, 65536);
    snprintf(cmd, sizeof(cmd), "cat %s/*.log", dir);
    FILE *p = popen(cmd, "r");
    size_t n = fread(buf, 1, 65535, p);
    pclose(p);
    buf[n] = '\0';
    return buf;
}

/* Round robin over EX1, EX2 (down for arrivals 2-3 of every 5) and EX3 (dead): the HTTP check
 * leaves the dead one out always, EX2 out in its window, and logs each change once. */
static void test_schedule(void **state)
{
    char dir[] = "/tmp/mrsmock-lb-XXXXXX", logs[600];
    struct scn *s = load();
    struct lb_env env = {.logs_dir = mkdtemp(dir)};
    char err[256];
    struct lb *b = lb_new(s, 0, NULL, &env, err, sizeof(err));
    /* the turn moves on every arrival; a member that is down is skipped to the next one up */
    const char *want[] = {"EX1", "EX1", "EX1", "EX1", "EX2", "EX1", "EX1", "EX1"};
    (void)state;

    assert_non_null(b);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct lb_choice ch;
        lb_choose(b, "127.0.0.1", NULL, &ch);
        assert_int_equal(ch.arrival, i + 1);
        assert_string_equal(s->listeners[0].balancer->members[ch.member].server->name, want[i]);
        assert_false(ch.offline); /* the check kept the member in its window out */
        assert_false(ch.unreachable);
        lb_release(b, ch.member);
    }
    assert_int_equal(lb_active(b), 0);
    lb_unref(b);
    snprintf(logs, sizeof(logs), "%s/LB1", dir);
    char *text = read_all(logs);
    /* EX3 down from the first arrival; EX2 down at 2 and 7, up again at 4 */
    const char *lines[] = {
        "Server LB1/EX3 is DOWN, reason: Layer4 timeout, check duration: 0ms. 2 active",
        "Server LB1/EX2 is DOWN, reason: Layer7 wrong status, code: 503, info: \"Service "
        "Unavailable\", check duration: 0ms. 1 active",
        "Server LB1/EX2 is UP, reason: Layer7 check passed, check duration: 0ms. 2 active",
    };
    const char *p = text;
    for (size_t i = 0; i < 3; i++) {
        const char *at = strstr(p, lines[i]);
        if (at == NULL)
            fail_msg("missing \"%s\" after offset %zu in:\n%s", lines[i], (size_t)(p - text), text);
        p = at + 1;
    }
    assert_non_null(strstr(p, "Server LB1/EX2 is DOWN")); /* arrival 7, the next period */
    free(text);
    scn_unref(s);
}

/* Fail-over: an Exchange 2010 server has no healthcheck.htm, so the HTTP check finds it down and
 * "none" takes the next member that is up. */
static void test_failover_2010(void **state)
{
    char dir[] = "/tmp/mrsmock-lb-XXXXXX";
    struct scn *s = load();
    struct lb_env env = {.logs_dir = mkdtemp(dir)};
    char err[256];
    struct lb *b = lb_new(s, 1, NULL, &env, err, sizeof(err));
    struct lb_choice ch;
    (void)state;

    assert_non_null(b);
    lb_choose(b, "127.0.0.2", NULL, &ch);
    assert_int_equal(ch.member, 1);
    assert_int_equal(lb_member_active(b, 1), 1);
    lb_release(b, ch.member);
    lb_unref(b);
    scn_unref(s);
}

/* A schedule in seconds: EX2 is up in the scenario's first second, then down (and fail-over
 * takes EX1) until second 100000. Polled with a deadline, not a fixed wait. */
static void test_seconds(void **state)
{
    char dir[] = "/tmp/mrsmock-lb-XXXXXX";
    struct scn *s = load();
    struct lb_env env = {.logs_dir = mkdtemp(dir)};
    char err[256];
    struct lb *b = lb_new(s, 2, NULL, &env, err, sizeof(err));
    struct lb_choice ch;
    time_t start = time(NULL);
    (void)state;

    assert_non_null(b);
    lb_choose(b, "127.0.0.1", NULL, &ch);
    lb_release(b, ch.member);
    if (time(NULL) == start) /* still second 0 of the balancer (it was built this second) */
        assert_int_equal(ch.member, 0);
    while (time(NULL) - start < 3) {
        lb_choose(b, "127.0.0.1", NULL, &ch);
        lb_release(b, ch.member);
        if (ch.member == 1)
            break;
        struct timespec ms10 = {0, 10000000};
        nanosleep(&ms10, NULL);
    }
    assert_int_equal(ch.member, 1); /* EX1: EX2 is down from second 1 */
    lb_unref(b);
    scn_unref(s);
}

static void test_lines(void **state)
{
    char buf[HALOG_LINE_MAX];
    struct halog_origin o = {.host = "lb1", .pid = 4242, .now = 1733155200}; /* 2024-12-02 */
    struct halog_entry e = {.client_ip = "127.0.0.2",
                            .client_port = 51544,
                            .accepted = {1733155199, 443000000},
                            .frontend = "edge",
                            .backend = "LB1",
                            .server = "EX2",
                            .tw = 0,
                            .tc = 0,
                            .tt = 5007,
                            .bytes = 212,
                            .term = "--",
                            .actconn = 1,
                            .feconn = 1,
                            .beconn = 1,
                            .srv_conn = 1};
    (void)state;

    halog_tcp(buf, sizeof(buf), &o, &e);
    assert_string_equal(buf, "Dec  2 16:00:00 lb1 haproxy[4242]: 127.0.0.2:51544 "
                             "[02/Dec/2024:15:59:59.443] edge LB1/EX2 0/0/5007 212 -- 1/1/1/1/0 "
                             "0/0\n");
    e.tq = 0, e.tr = 30, e.tt = 31, e.status = 401, e.cookie_req = "-", e.cookie_res = "-";
    memcpy(e.term, "--NI", 4);
    e.method = "POST", e.uri = "/EWS/mrsproxy.svc?a=\"b\"", e.version = "HTTP/1.1";
    halog_http(buf, sizeof(buf), &o, &e);
    assert_string_equal(buf, "Dec  2 16:00:00 lb1 haproxy[4242]: 127.0.0.2:51544 "
                             "[02/Dec/2024:15:59:59.443] edge LB1/EX2 0/0/0/30/31 401 212 - - "
                             "--NI 1/1/1/1/0 0/0 \"POST /EWS/mrsproxy.svc?a=#22b#22 HTTP/1.1\"\n");
    halog_health(buf, sizeof(buf), &o, "LB1", "EX2", 0, "Layer4 timeout", 1);
    assert_string_equal(buf, "Dec  2 16:00:00 lb1 haproxy[4242]: Server LB1/EX2 is DOWN, reason: "
                             "Layer4 timeout, check duration: 0ms. 1 active and 0 backup servers "
                             "left. 0 sessions active, 0 requeued, 0 remaining in queue.\n");
    /* a line never runs past its buffer */
    assert_true(halog_http(buf, 64, &o, &e) < 64);
    assert_int_equal(buf[strlen(buf) - 1], '\n');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_failover_2010),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
