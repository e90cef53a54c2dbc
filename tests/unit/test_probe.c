/*
 * test_probe — the probe's pure parts: its arguments (what is taken, what is refused and why),
 * curl-style --connect-to, --dns ADDR[:PORT], the user's DOMAIN\name, and the texts clients
 * print, word for word as the reference quotes them (reference 6). No socket is opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "../../src/probe/probe_int.h"
#include "probe.h"

/* probe_parse_args on a NULL-terminated list of words (the first is "probe"). */
static int parse(struct probe_opts *o, char *err, size_t len, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;

    va_start(ap, len);
    argv[argc++] = (char *)"probe";
    for (char *a; argc < 31 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return probe_parse_args(argc, argv, o, err, len);
}

static void test_args_taken(void **state)
{
    struct probe_opts o;
    char err[256];

    (void)state;
    assert_int_equal(parse(&o, err, sizeof(err), "--server", "mail.contoso.com", "--user",
                           "CONTOSO\\admin", NULL),
                     0);
    assert_string_equal(o.server, "mail.contoso.com");
    assert_int_equal(o.auth, PROBE_AUTH_NEGOTIATE); /* what the migration service uses */
    assert_int_equal(o.repeat, 1);
    assert_int_equal(o.timeout_ms, 20000);
    assert_null(o.dns); /* the system's resolver */
    assert_int_equal(o.json, 0);
    assert_null(o.password);

    assert_int_equal(parse(&o, err, sizeof(err), "--autodiscover", "--email", "admin@contoso.com",
                           "--user", "admin@contoso.com", "--auth", "NTLM", "--connect-to",
                           "mail.contoso.com:443:127.0.0.1:8443", "--connect-to", "::[::1]:8443",
                           "--repeat", "5", "--timeout", "3", "--json", "--dns", "127.0.0.1:5353",
                           NULL),
                     0);
    assert_string_equal(o.dns, "127.0.0.1:5353");
    assert_int_equal(ntohs(o.dns_addr.sin_port), 5353);
    assert_true(o.autodiscover);
    assert_string_equal(o.email, "admin@contoso.com");
    assert_int_equal(o.auth, PROBE_AUTH_NTLM);
    assert_int_equal(o.n_connect_to, 2);
    assert_int_equal(o.repeat, 5);
    assert_int_equal(o.timeout_ms, 3000);
    assert_true(o.json);

    assert_int_equal(parse(&o, err, sizeof(err), "--help", NULL), 1);
}

static void test_args_refused(void **state)
{
    static const struct {
        const char *a[6];
        const char *why;
    } cases[] = {
        {{"--user", "C\\a"}, "--server HOST"},
        {{"--server", "m", "--autodiscover", "--email", "a@b", "--user"}, "missing value"},
        {{"--server", "m"}, "--user"},
        {{"--server", "m", "--user", "C\\"}, "DOMAIN\\name"},
        {{"--server", "m", "--user", "\\a"}, "DOMAIN\\name"},
        {{"--server", "https://m/x", "--user", "a"}, "not a host name"},
        {{"--server", "m", "--email", "a@b", "--user", "a"}, "--email goes with"},
        {{"--autodiscover", "--email", "nobody", "--user", "a"}, "user@domain"},
        {{"--autodiscover", "--email", "a@", "--user", "a"}, "user@domain"},
        {{"--server", "m", "--user", "a", "--auth", "digest"}, "negotiate, ntlm or basic"},
        {{"--server", "m", "--user", "a", "--repeat", "101"}, "--repeat"},
        {{"--server", "m", "--user", "a", "--repeat", "x"}, "--repeat"},
        {{"--server", "m", "--user", "a", "--timeout", "0"}, "--timeout"},
        {{"--server", "m", "--user", "a", "--connect-to", "m:443"}, "HOST:PORT:ADDR:PORT"},
        {{"--server", "m", "--user", "a", "--cacert", "/nonexistent"}, "--cacert"},
        {{"--server", "m", "--user", "a", "--dns", "dns.contoso.com"},
         "--dns: \"dns.contoso.com\""},
        {{"--server", "m", "--user", "a", "--dns", "127.0.0.1:0"}, "ADDR[:PORT]"},
        {{"--server", "m", "--user", "a", "surplus"}, "unexpected argument"},
    };
    struct probe_opts o;
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const *a = cases[i].a;
        int rc = parse(&o, err, sizeof(err), a[0], a[1], a[2], a[3], a[4], a[5], NULL);
        if (rc != -1 || strstr(err, cases[i].why) == NULL)
            fail_msg("case %zu: rc %d, \"%s\" lacks \"%s\"", i, rc, err, cases[i].why);
    }
}

static void test_connect_to(void **state)
{
    struct probe_connect_to ct;
    static const char *const bad[] = {
        "",          "a",           "a:1",         "a:1:b",
        "a:1:b:2:3", "a:65536:b:1", "a:1:b:65536", "a:-1:b:1",
        "a b:1:c:2", "[::1:1:b:2",  "[]:1:b:2",    "a:1:[zz]:2",
        "a:1:b:2x",  "a/b:1:c:2",
    };

    (void)state;
    assert_int_equal(probe_parse_connect_to("mail.contoso.com:443:127.0.0.1:8443", &ct), 0);
    assert_string_equal(ct.host, "mail.contoso.com");
    assert_int_equal(ct.port, 443);
    assert_string_equal(ct.addr, "127.0.0.1");
    assert_int_equal(ct.port2, 8443);
    /* every part may be empty, as curl's */
    assert_int_equal(probe_parse_connect_to(":::", &ct), 0);
    assert_string_equal(ct.host, "");
    assert_int_equal(ct.port, 0);
    assert_int_equal(probe_parse_connect_to("[::1]:443:[fe80::1]:", &ct), 0);
    assert_string_equal(ct.host, "[::1]");
    assert_string_equal(ct.addr, "[fe80::1]");
    assert_int_equal(ct.port2, 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (probe_parse_connect_to(bad[i], &ct) != -1)
            fail_msg("\"%s\" taken", bad[i]);
    assert_int_equal(probe_parse_connect_to(NULL, &ct), -1);
}

static void test_dns(void **state)
{
    struct sockaddr_in sa;
    static const char *const bad[] = {
        "",          ":53",           "1.2.3",     "127.1",        "1.2.3.4:",
        "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "1.2.3.4:53:1", "dns.contoso.com",
        "[::1]:53",  "::1",           "256.1.1.1", " 1.2.3.4",
    };

    (void)state;
    assert_int_equal(probe_parse_dns("192.0.2.53", &sa), 0);
    assert_int_equal(sa.sin_family, AF_INET);
    assert_int_equal(ntohs(sa.sin_port), 53); /* DNS's port when none is given */
    assert_int_equal(ntohl(sa.sin_addr.s_addr), 0xc0000235);
    assert_int_equal(probe_parse_dns("127.0.0.1:5353", &sa), 0);
    assert_int_equal(ntohs(sa.sin_port), 5353);
    assert_int_equal(ntohl(sa.sin_addr.s_addr), 0x7f000001);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (probe_parse_dns(bad[i], &sa) != -1)
            fail_msg("\"%s\" taken", bad[i]);
    assert_int_equal(probe_parse_dns(NULL, &sa), -1);
}

static void test_split_user(void **state)
{
    char d[16], n[24];

    (void)state;
    assert_int_equal(probe_split_user("CONTOSO\\admin", d, sizeof(d), n, sizeof(n)), 0);
    assert_string_equal(d, "CONTOSO");
    assert_string_equal(n, "admin");
    assert_int_equal(probe_split_user("admin@contoso.com", d, sizeof(d), n, sizeof(n)), 0);
    assert_string_equal(d, "");
    assert_string_equal(n, "admin@contoso.com");
    assert_int_equal(probe_split_user("", d, sizeof(d), n, sizeof(n)), -1);
    assert_int_equal(probe_split_user(NULL, d, sizeof(d), n, sizeof(n)), -1);
    assert_int_equal(probe_split_user("A\\b\\c", d, sizeof(d), n, sizeof(n)), -1);
    assert_int_equal(probe_split_user("AVERYLONGDOMAINNAME\\b", d, sizeof(d), n, sizeof(n)), -1);
    assert_int_equal(probe_split_user("a-very-long-user-name-indeed", d, sizeof(d), n, sizeof(n)),
                     -1);
}

static void test_words(void **state)
{
    char out[2048];

    (void)state;
    assert_string_equal(
        probe_words_unauthorized(out, sizeof(out), "Negotiate", "Negotiate,NTLM"),
        "The HTTP request is unauthorized with client authentication scheme 'Negotiate'. The "
        "authentication header received from the server was 'Negotiate,NTLM'. --> The remote "
        "server returned an error: (401) Unauthorized.");
    assert_string_equal(probe_words_forbidden(out, sizeof(out), "Negotiate"),
                        "The HTTP request was forbidden with client authentication scheme "
                        "'Negotiate'. --> The remote server returned an error: (403) Forbidden.");
    assert_non_null(strstr(probe_words_unavailable(out, sizeof(out), "https://m/EWS/mrsproxy.svc"),
                           "The HTTP service located at https://m/EWS/mrsproxy.svc is "
                           "unavailable.  This could be because the service is too busy"));
    assert_non_null(strstr(out, "(503) Server Unavailable.")); /* .NET's words, not "Service" */
    assert_string_equal(probe_words_no_endpoint(out, sizeof(out), "https://m/EWS/mrsproxy.svc"),
                        "There was no endpoint listening at https://m/EWS/mrsproxy.svc that could "
                        "accept the message. This is often caused by an incorrect address or SOAP "
                        "action. See InnerException, if present, for more details.");
    assert_string_equal(probe_words_timeout(out, sizeof(out), "https://m/x", 50000),
                        "The HTTP request to 'https://m/x' has exceeded the allotted timeout of "
                        "00:00:50. The time allotted to this operation may have been a portion of "
                        "a longer timeout.");
    assert_non_null(strstr(probe_words_timeout(out, sizeof(out), "u", 3661000), "01:01:01."));
    assert_string_equal(probe_words_trust(out, sizeof(out), "mail.contoso.com"),
                        "Could not establish trust relationship for the SSL/TLS secure channel "
                        "with authority 'mail.contoso.com'. --> The underlying connection was "
                        "closed: Could not establish trust relationship for the SSL/TLS secure "
                        "channel. --> The remote certificate is invalid according to the "
                        "validation procedure.");
    assert_string_equal(probe_words_unexpected(out, sizeof(out), 405, NULL),
                        "The remote server returned an unexpected response: (405) Method Not "
                        "Allowed.");
    /* the server's own reason phrase wins: a .NET proxy writes the enum name (4.6) */
    assert_string_equal(probe_words_unexpected(out, sizeof(out), 413, "RequestEntityTooLarge"),
                        "The remote server returned an unexpected response: (413) "
                        "RequestEntityTooLarge.");
    assert_string_equal(probe_words_unexpected(out, sizeof(out), 413, ""),
                        "The remote server returned an unexpected response: (413) Request Entity "
                        "Too Large.");
    assert_string_equal(probe_words_protocol_violation(out, sizeof(out)),
                        "The server committed a protocol violation. Section=ResponseStatusLine");
    /* MRS's wrapping: the inner period and its own make ".." */
    assert_string_equal(
        probe_words_call_failed(out, sizeof(out), "W.", "https://m/EWS/mrsproxy.svc",
                                "Access is denied."),
        "W. --> The call to 'https://m/EWS/mrsproxy.svc' failed. Error details: Access is "
        "denied..");
    assert_string_equal(probe_words_no_mrsproxy(out, sizeof(out), "autodiscover.contoso.com"),
                        "The ExchangeRemote endpoint settings could not be determined from the "
                        "autodiscover response. No MRSProxy was found running at "
                        "'autodiscover.contoso.com'.");
    assert_string_equal(probe_words_connection_failed(out, sizeof(out), "mail.contoso.com"),
                        "The connection to the server 'mail.contoso.com' could not be completed.");
    /* a small buffer cuts, never overflows */
    char small[8];
    assert_int_equal(strlen(probe_words_trust(small, sizeof(small), "h")), 7);
    assert_string_equal(probe_auth_scheme(PROBE_AUTH_NEGOTIATE), "Negotiate");
    assert_string_equal(probe_auth_scheme(PROBE_AUTH_BASIC), "Basic");
    assert_string_equal(probe_http_reason(503), "Server Unavailable");
    assert_string_equal(probe_http_reason(299), "Unknown");
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(probe_status_name(PROBE_PASS), "pass");
    assert_string_equal(probe_status_name(PROBE_WARN), "warn");
    assert_string_equal(probe_status_name(PROBE_FAIL), "fail");
    assert_string_equal(probe_status_name(PROBE_SKIPPED), "skipped");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_args_taken),   cmocka_unit_test(test_args_refused),
        cmocka_unit_test(test_connect_to),   cmocka_unit_test(test_dns),
        cmocka_unit_test(test_split_user),   cmocka_unit_test(test_words),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
