/*
 * test_perimeter — the perimeter's devices: a firewall's rules and URL filters in the model with
 * a message per mistake, address ranges, the first rule that matches, the URL filter's match and
 * the pfirewall.log lines.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "firewall.h"
#include "fwlog.h"
#include "scenario.h"
#include "urlfilter.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define DATA MRSMOCK_SRCDIR "/tests/data/scenarios/"

static void test_model(void **state)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "perimeter-ok.xml", &e);
    (void)state;

    if (s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    assert_non_null(s);
    const struct scn_listener *l = scn_listener_by_name(s, "edge");
    const struct scn_firewall *fw = l->firewall;
    assert_non_null(fw);
    assert_string_equal(fw->name, "FW1");
    assert_int_equal(fw->def, SCN_FW_DROP); /* deny */
    assert_int_equal(fw->num_rules, 4);
    assert_string_equal(fw->rules[0].name, "exchange-online");
    assert_int_equal(fw->rules[0].action, SCN_FW_ALLOW); /* the default action */
    assert_int_equal(fw->rules[0].num_sources, 4);
    assert_int_equal(fw->rules[0].sources[0].bits, 15);
    assert_false(fw->rules[0].sources[0].v6);
    assert_true(fw->rules[0].sources[2].v6);
    assert_int_equal(fw->rules[0].sources[3].bits, 32); /* a bare address */
    assert_int_equal(fw->rules[1].action, SCN_FW_RESET);
    assert_int_equal(fw->rules[2].action, SCN_FW_HANG);
    assert_int_equal(fw->rules[3].action, SCN_FW_DROP);
    assert_int_equal(fw->num_url_filters, 3);
    assert_string_equal(fw->url_filters[0].path, "/ews/mrsproxy.svc");
    assert_int_equal(fw->url_filters[0].action, SCN_UF_BLOCK_PAGE);
    assert_int_equal(fw->url_filters[1].action, SCN_UF_RESET);
    assert_int_equal(fw->url_filters[2].action, SCN_UF_HANG);
    assert_string_equal(scn_fw_action_name(SCN_FW_HANG), "hang");
    assert_string_equal(scn_uf_action_name(SCN_UF_BLOCK_PAGE), "block-page");
    assert_int_equal(l->port_state, SCN_PORT_OPEN); /* the default */
    assert_int_equal(scn_listener_by_name(s, "shut")->port_state, SCN_PORT_CLOSED);
    assert_int_equal(scn_listener_by_name(s, "quiet")->port_state, SCN_PORT_FILTERED);
    assert_string_equal(scn_port_state_name(SCN_PORT_FILTERED), "filtered");

    /* the first rule that matches decides; none: the default */
    assert_string_equal(fw_rule_for(fw, "40.93.255.1")->name, "exchange-online");
    assert_string_equal(fw_rule_for(fw, "2603:1006:10::1")->name, "exchange-online");
    assert_string_equal(fw_rule_for(fw, "::ffff:127.0.0.1")->name, "exchange-online");
    assert_string_equal(fw_rule_for(fw, "127.0.0.3")->name, "lab-reset");
    assert_string_equal(fw_rule_for(fw, "10.200.1.1")->name, "lab-drop");
    assert_null(fw_rule_for(fw, "127.0.0.2"));
    assert_null(fw_rule_for(fw, "40.94.0.1"));
    assert_null(fw_rule_for(fw, "2603:1016::1"));
    assert_null(fw_rule_for(fw, "2603:1006:2000::1")); /* past the /40 */

    /* URL filters: the path or below it, without case; a folder's "/" matters */
    assert_ptr_equal(urlfilter_match(fw, "/EWS/MRSProxy.svc", 17), &fw->url_filters[0]);
    assert_ptr_equal(urlfilter_match(fw, "/EWS/mrsproxy.svc/x", 19), &fw->url_filters[0]);
    assert_null(urlfilter_match(fw, "/EWS/mrsproxy.svcx", 18));
    assert_null(urlfilter_match(fw, "/EWS/Exchange.asmx", 18));
    assert_ptr_equal(urlfilter_match(fw, "/ews/other/a", 12), &fw->url_filters[1]);
    assert_null(urlfilter_match(fw, "/ews/other", 10));
    /* no firewall on a listener without one */
    scn_unref(s);
    s = scn_load(DATA "base.xml", &e);
    if (s != NULL) {
        for (size_t i = 0; i < s->num_listeners; i++)
            assert_null(s->listeners[i].firewall);
        scn_unref(s);
    }
    scn_errors_free(&e);
}

static void test_cidr(void **state)
{
    struct scn_cidr c = {.addr = {192, 168, 0, 0}, .bits = 23};
    struct scn_cidr any = {.bits = 0};
    (void)state;

    assert_true(scn_cidr_match(&c, "192.168.1.255"));
    assert_false(scn_cidr_match(&c, "192.168.2.0"));
    assert_false(scn_cidr_match(&c, "::1"));
    assert_false(scn_cidr_match(&c, "not an address"));
    assert_true(scn_cidr_match(&any, "8.8.8.8"));
}

/* Every mistake of the fixture, each with its line. */
static void test_errors(void **state)
{
    static const char *const want[] = {
        "perimeter-errors.xml:3: bad value \"maybe\" for default: expected allow or deny",
        "perimeter-errors.xml:4: bad value \"40.92.0.1/15\" for source",
        "perimeter-errors.xml:5: bad value \"300.1.1.1 10.0.0.0/33\" for source",
        "perimeter-errors.xml:6: bad value \"bounce\" for action: expected allow, drop, reset or "
        "hang",
        "perimeter-errors.xml:7: bad value \"page\" for action: expected block-page, reset or hang",
        "perimeter-errors.xml:3: firewall \"EX1\": a server has that name",
        "perimeter-errors.xml:6: firewall \"EX1\": rule \"r3\": missing required attribute "
        "\"source\"",
        "perimeter-errors.xml:7: firewall \"EX1\": url-filter path \"ews/mrsproxy.svc\" must be a "
        "path starting with \"/\"",
        "perimeter-errors.xml:13: firewall \"LB1\": balancer at ",
        "perimeter-errors.xml:12: bad value \"stealth\" for port-state: expected open, closed or "
        "filtered",
    };
    struct scn_errors e = {0};
    struct scn *s = scn_load(DATA "perimeter-errors.xml", &e);
    (void)state;

    assert_null(s);
    assert_non_null(e.text);
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (strstr(e.text, want[i]) == NULL)
            fail_msg("missing \"%s\" in:\n%s", want[i], e.text);
    assert_int_equal(e.count, sizeof(want) / sizeof(want[0]));
    scn_errors_free(&e);
}

static void test_fwlog(void **state)
{
    char buf[FWLOG_LINE_MAX];
    struct fwlog_entry e = {.now = 1764700000, /* 2025-12-02 18:26:40 UTC */
                            .allow = 0,
                            .src_ip = "127.0.0.2",
                            .dst_ip = "127.0.0.1",
                            .src_port = 51234,
                            .dst_port = 443,
                            .syn = 1,
                            .info = "default"};
    size_t n = fwlog_line(buf, sizeof(buf), &e);
    (void)state;

    assert_int_equal(n, strlen(buf));
    assert_string_equal(buf, "2025-12-02 18:26:40 DROP TCP 127.0.0.2 127.0.0.1 51234 443 0 S 0 0 0 "
                             "- - default RECEIVE\r\n");
    e.allow = 1, e.syn = 0, e.info = "exchange online";
    fwlog_line(buf, sizeof(buf), &e);
    assert_string_equal(buf, "2025-12-02 18:26:40 ALLOW TCP 127.0.0.2 127.0.0.1 51234 443 0 - 0 0 "
                             "0 - - exchange_online RECEIVE\r\n");
    assert_int_equal(fwlog_line(buf, 20, &e), 0);
    n = fwlog_header(buf, sizeof(buf), 0);
    buf[n] = '\0';
    assert_string_equal(buf, "#Version: 1.5\r\n#Software: Microsoft Windows Firewall\r\n"
                             "#Time Format: Local\r\n#Fields: date time action protocol src-ip "
                             "dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype "
                             "icmpcode info path\r\n\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_fwlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
