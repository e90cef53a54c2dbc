/*
 * test_scenario — loading scenario files: the values and defaults of the model, lookups,
 * `extends`, and one `file:line: message` per kind of mistake. Fixtures are in
 * tests/data/scenarios/; most of them extend the bundled `healthy` and change one thing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif
#define DATA MRSMOCK_SRCDIR "/tests/data/scenarios/"
#define HEALTHY MRSMOCK_SRCDIR "/scenarios/healthy.xml"

/* The line of healthy.xml where TEXT first appears (where the element starts), so that the
 * reference file's comments may change without breaking the tests. */
static unsigned healthy_line_of(const char *text)
{
    char line[1024];
    unsigned n = 0;
    FILE *f = fopen(HEALTHY, "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        n++;
        if (strstr(line, text) != NULL)
            break;
    }
    fclose(f);
    return n;
}

/* A fixture's path. */
static const char *data(const char *file)
{
    static char path[PATH_MAX];
    snprintf(path, sizeof(path), DATA "%s", file);
    return path;
}

/* Loads PATH and fails, printing the messages, unless it loads without any. */
static struct scn *load_ok(const char *path)
{
    struct scn_errors e = {0};
    struct scn *s = scn_load(path, &e);

    if (s == NULL || e.count != 0)
        print_error("%s: %u unexpected errors:\n%s", path, e.count, e.text != NULL ? e.text : "");
    scn_errors_free(&e);
    assert_non_null(s);
    return s;
}

/*
 * Loads fixture FILE, which must fail with exactly the messages WANT: "LINE: message" and
 * "-: message" (no line) are about FILE itself; a line starting with '/' is taken whole.
 */
static void expect_errors(const char *file, const char *const *want, unsigned num)
{
    char path[PATH_MAX], expected[8192] = "";
    struct scn_errors e = {0};
    struct scn *s;
    size_t o = 0;
    int ok;

    snprintf(path, sizeof(path), "%s", file[0] == '/' ? file : data(file));
    for (unsigned i = 0; i < num; i++)
        o += (size_t)snprintf(expected + o, sizeof(expected) - o, "%s%s%s\n",
                              want[i][0] == '/' ? "" : path,
                              want[i][0] == '-'   ? ""
                              : want[i][0] == '/' ? ""
                                                  : ":",
                              want[i] + (want[i][0] == '-'));
    s = scn_load(path, &e);
    ok = s == NULL && e.count == num && e.text != NULL && strcmp(e.text, expected) == 0;
    if (!ok)
        print_error("%s\nwant (%u):\n%sgot (%u):\n%s", path, num, expected, e.count,
                    e.text != NULL ? e.text : "(nothing)\n");
    scn_unref(s);
    scn_errors_free(&e);
    assert_true(ok);
}

#define EXPECT(file, ...)                                                                          \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_errors(file, want_, sizeof(want_) / sizeof(want_[0]));                              \
    } while (0)

static void test_healthy(void **state)
{
    struct scn *s = load_ok(HEALTHY);
    const struct scn_server *ex1;
    const struct scn_listener *l;
    (void)state;

    assert_string_equal(s->name, "healthy");
    assert_string_equal(s->file, HEALTHY);
    assert_string_equal(s->domain, "contoso.com");
    assert_string_equal(s->netbios, "CONTOSO");
    assert_string_equal(s->summary,
                        "Working hybrid set-up: everything a remote move needs is in place.");
    assert_non_null(strstr(s->description, "401 2 5"));
    assert_int_equal(s->limits.idle_timeout_ms, 120000);
    assert_int_equal(s->limits.header_wait_ms, 120000);
    assert_int_equal(s->limits.entity_body_ms, 120000);
    assert_int_equal(s->limits.min_bytes_per_second, 240);
    assert_int_equal(s->limits.handshake_timeout_ms, 10000);
    assert_int_equal(s->limits.max_request_body, 30000000);

    assert_int_equal(s->num_servers, 1);
    ex1 = &s->servers[0];
    assert_string_equal(ex1->name, "EX1");
    assert_string_equal(ex1->fqdn, "ex1.contoso.com");
    assert_int_equal(ex1->version, SCN_V2016);
    assert_int_equal(ex1->build[0], 15);
    assert_int_equal(ex1->build[1], 1);
    assert_int_equal(ex1->build[2], 2507);
    assert_int_equal(ex1->build[3], 6);
    assert_null(ex1->ip);
    assert_string_equal(ex1->ews.internal_url, "https://ex1.contoso.com/EWS/Exchange.asmx");
    assert_string_equal(ex1->ews.external_url, "https://mail.contoso.com/EWS/Exchange.asmx");
    assert_int_equal(ex1->ews.auth, SCN_AUTH_BASIC | SCN_AUTH_NTLM | SCN_AUTH_NEGOTIATE);
    assert_string_equal(ex1->autodiscover.external_url,
                        "https://autodiscover.contoso.com/Autodiscover/Autodiscover.xml");
    assert_int_equal(ex1->autodiscover.auth, SCN_AUTH_BASIC | SCN_AUTH_WINDOWS);
    assert_true(ex1->mrsproxy_enabled);
    assert_int_equal(ex1->mrsproxy_max_connections, 100);
    assert_null(ex1->ews.deny); /* defaults of the newer attributes */
    assert_int_equal(ex1->ews.num_deny, 0);
    assert_int_equal(ex1->autodiscover.num_deny, 0);
    assert_null(ex1->ews.redirect_url);
    assert_null(ex1->autodiscover.redirect_url);
    assert_string_equal(ex1->oa_external_host, "mail.contoso.com"); /* EWS external URL's host */
    assert_false(s->ntlmv1);
    assert_string_equal(ex1->at.file, HEALTHY);
    assert_int_equal(ex1->at.line, healthy_line_of("<server name=\"EX1\" "));

    assert_int_equal(s->num_accounts, 2);
    assert_string_equal(s->accounts[0].sam, "admin");
    assert_string_equal(s->accounts[0].upn, "admin@contoso.com");
    assert_string_equal(s->accounts[0].password, "P@ssw0rd!");
    assert_string_equal(s->accounts[0].display_name, "Administrator");
    assert_true(s->accounts[0].admin);
    assert_string_equal(s->accounts[0].mailbox, "admin@contoso.com");
    assert_ptr_equal(s->accounts[0].server, ex1);
    assert_int_equal(s->accounts[0].state, SCN_ACCOUNT_ENABLED);
    assert_null(s->accounts[0].redirect_addr);
    assert_string_equal(s->accounts[1].sam, "user1");
    assert_string_equal(s->accounts[1].upn, "user1@contoso.com"); /* default */
    assert_string_equal(s->accounts[1].password, "Passw0rd1");
    assert_string_equal(s->accounts[1].display_name, "User One");
    assert_false(s->accounts[1].admin);
    assert_ptr_equal(s->accounts[1].server, ex1);
    assert_int_equal(s->accounts[1].at.line, healthy_line_of("<account sam=\"user1\""));

    assert_int_equal(s->num_certs, 1);
    assert_string_equal(s->certs[0].id, "mail");
    assert_int_equal(s->certs[0].num_names, 3);
    assert_string_equal(s->certs[0].names[0], "mail.contoso.com");
    assert_string_equal(s->certs[0].names[2], "ex1.contoso.com");
    assert_int_equal(s->certs[0].not_before, -30 * 86400);
    assert_int_equal(s->certs[0].not_after, 365 * 86400);
    assert_int_equal(s->certs[0].key, SCN_KEY_EC);
    assert_int_equal(s->certs[0].key_bits, 256);
    assert_string_equal(s->certs[0].digest, "sha256");

    assert_int_equal(s->num_listeners, 1);
    l = &s->listeners[0];
    assert_string_equal(l->name, "edge");
    assert_string_equal(l->host, "127.0.0.1");
    assert_int_equal(l->port, 8443);
    assert_true(l->tls);
    assert_true(l->http2);
    assert_ptr_equal(l->cert, &s->certs[0]);
    assert_ptr_equal(l->server, ex1);
    assert_int_equal(l->tls_min, SCN_TLS12);
    assert_int_equal(l->tls_max, SCN_TLS13);
    assert_int_equal(l->num_sni, 0);
    assert_int_equal(l->num_hosts, 3);
    assert_string_equal(l->hosts[0], "mail.contoso.com");
    assert_string_equal(l->hosts[1], "ex1.contoso.com");
    assert_string_equal(l->hosts[2], "autodiscover.contoso.com");
    scn_unref(s);
}

/* Every attribute written with a value other than its default lands in the right field. */
static void test_all_values(void **state)
{
    struct scn *s = load_ok(data("all-values.xml"));
    const struct scn_server *fab2, *fab3;
    const struct scn_listener *l;
    (void)state;

    assert_string_equal(s->description, "First line.\n  indented\nlast");
    assert_string_equal(s->summary, "First line.");
    assert_int_equal(s->limits.idle_timeout_ms, 180000);
    assert_int_equal(s->limits.header_wait_ms, 7500);
    assert_int_equal(s->limits.entity_body_ms, 45000);
    assert_int_equal(s->limits.min_bytes_per_second, 500);
    assert_int_equal(s->limits.handshake_timeout_ms, 1500);
    assert_int_equal(s->limits.max_request_body, 2147483648u);
    assert_string_equal(s->netbios, "FAB");

    assert_string_equal(s->accounts[0].upn, "svc@fabrikam.example");
    assert_string_equal(s->accounts[0].password, "");
    assert_string_equal(s->accounts[0].display_name, "Service");
    assert_null(s->accounts[0].mailbox);
    assert_null(s->accounts[0].server);
    assert_string_equal(s->accounts[1].display_name, "ann");
    assert_true(s->accounts[1].admin);

    fab2 = scn_server_by_name(s, "fab2");
    fab3 = scn_server_by_name(s, "FAB3");
    assert_non_null(fab2);
    assert_non_null(fab3);
    assert_ptr_equal(s->accounts[1].server, fab2);
    assert_string_equal(fab2->fqdn, "cas.fabrikam.example.org");
    assert_int_equal(fab2->version, SCN_V2010);
    assert_int_equal(fab2->build[2], 513);
    assert_string_equal(fab2->ip, "192.0.2.10");
    assert_null(fab2->ews.internal_url);
    assert_int_equal(fab2->ews.auth, SCN_AUTH_WINDOWS);
    assert_int_equal(fab2->mrsproxy_max_connections, 0);
    assert_int_equal(fab2->autodiscover.auth, 0);
    assert_null(fab2->autodiscover.external_url);
    /* Outlook Anywhere by default: the EWS external URL's host, lower case, without the port */
    assert_string_equal(fab2->oa_external_host, "mail.fabrikam.example.org");
    assert_null(fab3->oa_external_host); /* no EWS external URL */
    assert_string_equal(fab3->fqdn, "fab3.fabrikam.example.org");
    assert_int_equal(fab3->build[0], 15);
    assert_int_equal(fab3->build[1], 2);
    assert_int_equal(fab3->build[2], 1258);
    assert_int_equal(fab3->build[3], 12);

    assert_int_equal(s->certs[0].num_names, 3);
    assert_string_equal(s->certs[0].names[0], "*.fabrikam.example.org");
    assert_string_equal(s->certs[0].names[2], "::1");
    assert_int_equal(s->certs[0].not_before, 3600);
    assert_int_equal(s->certs[0].not_after, 5400);
    assert_int_equal(s->certs[0].key, SCN_KEY_RSA);
    assert_int_equal(s->certs[0].key_bits, 4096);
    assert_string_equal(s->certs[0].digest, "sha384");
    assert_int_equal(s->certs[1].not_before, -400 * 86400);
    assert_string_equal(s->certs[1].digest, "sha1");

    l = scn_listener_by_name(s, "TLS10");
    assert_non_null(l);
    assert_string_equal(l->host, "0.0.0.0");
    assert_int_equal(l->port, 0);
    assert_int_equal(l->tls_min, SCN_TLS10);
    assert_int_equal(l->tls_max, SCN_TLS12);
    assert_false(l->http2);
    assert_int_equal(l->num_sni, 2);
    assert_string_equal(l->sni[1].name, "www.fabrikam.example.org");
    assert_ptr_equal(l->sni[1].cert, &s->certs[0]);
    assert_int_equal(l->num_hosts, 2);
    assert_string_equal(l->hosts[0], "mail.fabrikam.example.org");
    assert_string_equal(l->hosts[1], "autodiscover.fabrikam.example.org");
    l = scn_listener_by_name(s, "plain");
    assert_string_equal(l->host, "::");
    assert_int_equal(l->port, 8080);
    assert_false(l->tls);
    assert_null(l->cert);
    assert_ptr_equal(l->server, fab3);
    scn_unref(s);
}

/* Account state and redirect, deny rules, redirect-url, Outlook Anywhere, hosts, ntlmv1. */
static void test_new_values(void **state)
{
    struct scn *s = load_ok(data("new-values.xml"));
    const struct scn_server *ex1 = &s->servers[0];
    struct scn_account *admin, *user1, *moved, *off;
    const struct scn_listener *l;
    (void)state;

    assert_true(s->ntlmv1);
    assert_int_equal(s->num_accounts, 4);
    admin = &s->accounts[0], user1 = &s->accounts[1], moved = &s->accounts[2];
    off = &s->accounts[3];
    assert_int_equal(admin->state, SCN_ACCOUNT_ENABLED);
    assert_null(admin->redirect_addr);
    assert_int_equal(user1->state, SCN_ACCOUNT_LOCKED);
    assert_string_equal(user1->redirect_addr, "user1@contoso.mail.onmicrosoft.com");
    assert_string_equal(user1->mailbox, "user1@contoso.com"); /* kept from healthy */
    assert_int_equal(moved->state, SCN_ACCOUNT_PASSWORD_EXPIRED);
    assert_string_equal(moved->redirect_addr, "moved@contoso.mail.onmicrosoft.com");
    assert_null(moved->mailbox); /* a redirect without a mailbox is fine */
    assert_int_equal(off->state, SCN_ACCOUNT_DISABLED);
    assert_null(off->redirect_addr);

    /* "USER1 off user1": names compared without case, each account once, in written order */
    assert_int_equal(ex1->ews.num_deny, 2);
    assert_ptr_equal(ex1->ews.deny[0], user1);
    assert_ptr_equal(ex1->ews.deny[1], off);
    assert_int_equal(ex1->autodiscover.num_deny, 1);
    assert_ptr_equal(ex1->autodiscover.deny[0], admin);
    assert_null(ex1->ews.redirect_url);
    assert_string_equal(ex1->autodiscover.redirect_url,
                        "https://autodiscover.other.example/autodiscover/autodiscover.xml");
    assert_string_equal(ex1->oa_external_host, "oa.contoso.com");

    /* hosts replaces the derived list: lower case, without duplicates */
    l = scn_listener_by_name(s, "edge");
    assert_int_equal(l->num_hosts, 2);
    assert_string_equal(l->hosts[0], "mail.contoso.com");
    assert_string_equal(l->hosts[1], "autodiscover.contoso.com");
    l = scn_listener_by_name(s, "ad");
    assert_int_equal(l->num_hosts, 1);
    assert_string_equal(l->hosts[0], "autodiscover.contoso.com");
    scn_unref(s);
}

/* An overlay changes only what it writes; "" clears a redirect, a deny list, a hosts override. */
static void test_new_values_overlay(void **state)
{
    struct scn *s = load_ok(data("new-values-overlay.xml"));
    const struct scn_server *ex1 = &s->servers[0];
    const struct scn_listener *l;
    (void)state;

    assert_true(s->ntlmv1); /* from new-values */
    assert_int_equal(s->accounts[1].state, SCN_ACCOUNT_ENABLED);
    assert_null(s->accounts[1].redirect_addr);
    assert_int_equal(s->accounts[2].state, SCN_ACCOUNT_PASSWORD_EXPIRED);
    assert_null(ex1->ews.deny);
    assert_int_equal(ex1->ews.num_deny, 0);
    assert_int_equal(ex1->autodiscover.num_deny, 1);
    assert_ptr_equal(ex1->autodiscover.deny[0], &s->accounts[0]);
    assert_null(ex1->autodiscover.redirect_url);
    assert_string_equal(ex1->oa_external_host, "oa.contoso.com"); /* written: does not follow */
    l = scn_listener_by_name(s, "edge");
    assert_int_equal(l->num_hosts, 3); /* hosts="": derived again, from the new URL */
    assert_string_equal(l->hosts[0], "owa.contoso.com");
    assert_string_equal(l->hosts[1], "ex1.contoso.com");
    assert_string_equal(l->hosts[2], "autodiscover.contoso.com");
    assert_int_equal(scn_listener_by_name(s, "ad")->num_hosts, 1);
    scn_unref(s);
}

/* external-hostname="" is no external host name at all; absent, the EWS external URL's host. */
static void test_outlook_anywhere(void **state)
{
    struct scn *s = load_ok(data("oa-empty.xml"));
    (void)state;

    assert_null(scn_server_by_name(s, "EX1")->oa_external_host);
    assert_string_equal(scn_server_by_name(s, "EX2")->oa_external_host, "ex2.contoso.com");
    scn_unref(s);
}

static void test_lookups(void **state)
{
    struct scn *s = load_ok(HEALTHY);
    struct scn_account *admin = &s->accounts[0];
    (void)state;

#define SMTP(a) scn_account_by_smtp(s, a, strlen(a))
#define LOGON(d, u) scn_account_by_logon(s, d, strlen(d), u, strlen(u))
    assert_ptr_equal(SMTP("admin@contoso.com"), admin);
    assert_ptr_equal(SMTP("ADMIN@Contoso.COM"), admin);
    assert_ptr_equal(SMTP("user1@contoso.com"), &s->accounts[1]);
    assert_null(SMTP("admin@contoso.co"));
    assert_null(SMTP("nobody@contoso.com"));
    assert_ptr_equal(scn_account_by_smtp(s, "admin@contoso.comXYZ", 17), admin);

    assert_ptr_equal(LOGON("CONTOSO", "admin"), admin); /* CONTOSO\admin */
    assert_ptr_equal(LOGON("contoso", "ADMIN"), admin);
    assert_ptr_equal(LOGON("contoso.com", "admin"), admin);  /* the DNS name also works */
    assert_ptr_equal(LOGON("", "admin@contoso.com"), admin); /* UPN */
    assert_ptr_equal(scn_account_by_logon(s, NULL, 0, "Admin@CONTOSO.com", 17), admin);
    assert_ptr_equal(LOGON("", "admin"), admin); /* bare user */
    assert_ptr_equal(LOGON("", "user1"), &s->accounts[1]);
    assert_null(LOGON("FABRIKAM", "admin"));
    assert_null(LOGON("", "admin@fabrikam.com"));
    assert_null(LOGON("", "nobody"));
    assert_null(LOGON("CONTOSO", "adm"));

    assert_ptr_equal(scn_server_by_name(s, "ex1"), &s->servers[0]);
    assert_null(scn_server_by_name(s, "EX2"));
    assert_ptr_equal(scn_listener_by_name(s, "EDGE"), &s->listeners[0]);
    assert_null(scn_listener_by_name(s, "other"));
    scn_unref(s);
#undef SMTP
#undef LOGON
}

static void test_invalid_files(void **state)
{
    (void)state;
    EXPECT("unknown-element.xml", "5: unknown element <owa> in <server>");
    EXPECT("unknown-attribute.xml", "5: unknown attribute \"pasword\" on <account>");
    EXPECT("bad-duration.xml",
           "6: bad value \"12x\" for not-after: expected a duration such as +365d or -30d");
    EXPECT("bad-boolean.xml", "5: bad value \"yes\" for mrsproxy: expected true or false");
    EXPECT("bad-version.xml",
           "4: bad value \"2007\" for version: expected 2010, 2013, 2016 or 2019");
    EXPECT("missing-server.xml", "5: listener \"edge\": server \"EX9\" does not exist");
    EXPECT("missing-certificate.xml", "4: listener \"edge\": certificate \"nope\" is not defined");
    EXPECT("missing-password.xml",
           "5: missing required attribute \"password\" on <account sam=\"bob\">");
    EXPECT("mailbox-without-server.xml",
           "6: account \"user2\": mailbox without server or database (a mailbox lives on one)");
    EXPECT("not-well-formed.xml", "4: not well-formed: Opening and ending tag mismatch: "
                                  "organization line 3 and organisation");
    EXPECT("doctype.xml", "2: DOCTYPE is not allowed");
    EXPECT("missing-base.xml", "3: extends \"no-such-base\": no such scenario");
    EXPECT("bad-state.xml", "6: bad value \"frozen\" for state: expected enabled, disabled, locked "
                            "or password-expired");
    EXPECT("redirect-url-on-ews.xml", "5: unknown attribute \"redirect-url\" on <ews>");
    EXPECT("deny-unknown.xml", "6: deny: no account \"nobody\"", "7: deny: no account \"Nobody2\"");
}

static void test_new_values_errors(void **state)
{
    (void)state;
    EXPECT("bad-new-values.xml", "4: bad value \"yes\" for ntlmv1: expected true or false",
           "5: bad value \"user1\" for redirect-addr: expected an address such as user@contoso.com",
           "8: bad value \"admin user,1\" for deny: expected 0 to 32 account names separated by "
           "spaces",
           "9: bad value \"https://mail.contoso.com/\" for external-hostname: expected a DNS name "
           "such as contoso.com",
           "11: bad value \"mail.contoso.com *.contoso.com\" for hosts: expected 1 to 32 DNS names "
           "separated by spaces, or \"\"");
}

static void test_duplicate_account(void **state)
{
    char want[PATH_MAX + 100];
    (void)state;

    snprintf(want, sizeof(want), "6: duplicate account \"HelpDesk\" (first defined at %s:5)",
             data("duplicate-account.xml"));
    EXPECT("duplicate-account.xml", want);
}

/* OpenBSD parse.y style: one run reports every problem of the file, each at its line. */
static void test_several_errors(void **state)
{
    (void)state;
    EXPECT("multiple-errors.xml",
           "4: bad value \"2 minutes\" for idle-timeout: expected a time from 1ms to 1440m, such "
           "as 120s, 500ms or 2m",
           "6: unknown attribute \"colour\" on <account>",
           "9: bad value \"on\" for mrsproxy: expected true or false",
           "10: unknown element <ecp> in <server>");
}

/* Nothing from libxml2 reaches standard error, whatever the file. */
static void test_quiet(void **state)
{
    char tmpl[] = "/tmp/test_scenario.XXXXXX";
    int fd = mkstemp(tmpl), saved = dup(STDERR_FILENO);
    const char *files[] = {"not-well-formed.xml", "doctype.xml", "multiple-errors.xml"};
    off_t size;
    (void)state;

    assert_true(fd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(fd, STDERR_FILENO);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct scn_errors e = {0};
        scn_unref(scn_load(data(files[i]), &e));
        scn_errors_free(&e);
    }
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    size = lseek(fd, 0, SEEK_END);
    close(fd);
    close(saved);
    unlink(tmpl);
    assert_int_equal(size, 0);
}

static void test_file_too_large(void **state)
{
    char dir[] = "/tmp/test_scenario.XXXXXX", path[PATH_MAX], want[PATH_MAX + 100];
    static char filler[4096];
    FILE *f;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/big.xml", dir);
    assert_non_null(f = fopen(path, "w"));
    memset(filler, ' ', sizeof(filler));
    fputs("<?xml version=\"1.0\"?>\n<scenario xmlns=\"urn:mrsmock:scenario:1\" name=\"big\">", f);
    for (int i = 0; i < 257; i++) /* just over 1 MiB */
        fwrite(filler, 1, sizeof(filler), f);
    fputs("</scenario>\n", f);
    fclose(f);
    snprintf(want, sizeof(want), "-: file too large (the limit is 1048576 bytes)");
    expect_errors(path, (const char *const[]){want}, 1);
    unlink(path);
    rmdir(dir);
}

static void test_missing_file(void **state)
{
    (void)state;
    expect_errors(DATA "no-such-file.xml",
                  (const char *const[]){"-: cannot open: No such file or directory"}, 1);
}

/* An overlay changes what it writes and adds what is new; the rest comes from the base. */
static void test_extends_overlay(void **state)
{
    struct scn *s = load_ok(data("overlay.xml"));
    const struct scn_server *ex1 = scn_server_by_name(s, "EX1");
    const struct scn_account *user2;
    (void)state;

    assert_string_equal(s->name, "overlay");
    assert_string_equal(s->file, data("overlay.xml"));
    assert_string_equal(s->domain, "contoso.com");
    assert_string_equal(s->summary,
                        "Working hybrid set-up: everything a remote move needs is in place.");
    assert_int_equal(s->num_servers, 1);
    assert_string_equal(ex1->name, "EX1"); /* the key keeps the base's spelling */
    assert_int_equal(ex1->version, SCN_V2019);
    assert_int_equal(ex1->build[1], 2); /* the default build follows the new version */
    assert_int_equal(ex1->build[2], 1258);
    assert_string_equal(ex1->fqdn, "ex1.contoso.com");
    assert_string_equal(ex1->ews.external_url, "https://mail.contoso.com/EWS/Exchange.asmx");
    assert_true(ex1->mrsproxy_enabled);
    assert_string_equal(ex1->at.file, data("overlay.xml"));
    assert_int_equal(ex1->at.line, 4);

    assert_int_equal(s->num_accounts, 3);
    assert_string_equal(s->accounts[0].password, "P@ssw0rd!");
    assert_string_equal(s->accounts[0].at.file, HEALTHY);
    user2 = scn_account_by_smtp(s, "user2@contoso.com", 17);
    assert_ptr_equal(user2, &s->accounts[2]);
    assert_ptr_equal(user2->server, ex1);
    assert_string_equal(user2->upn, "user2@contoso.com");

    assert_int_equal(s->num_listeners, 1);
    assert_ptr_equal(s->listeners[0].server, ex1);
    assert_int_equal(s->listeners[0].num_hosts, 3);
    scn_unref(s);
}

/* extends="base" is found beside the extending file before the bundled scenarios. */
static void test_extends_beside(void **state)
{
    struct scn *s = load_ok(data("extends-beside.xml"));
    const struct scn_listener *plain = scn_listener_by_name(s, "plain");
    (void)state;

    assert_string_equal(s->domain, "fabrikam.com");
    assert_string_equal(s->description, "Fabrikam base.");
    assert_int_equal(s->servers[0].version, SCN_V2013);
    assert_int_equal(s->servers[0].build[2], 1497);
    assert_int_equal(s->certs[0].key_bits, 2048);
    assert_int_equal(s->num_listeners, 2);
    assert_non_null(plain);
    assert_string_equal(plain->host, "::1");
    assert_int_equal(plain->port, 8080);
    assert_false(plain->tls);
    assert_null(plain->cert);
    scn_unref(s);
}

static void test_extends_errors(void **state)
{
    char want[3 * PATH_MAX];
    (void)state;

    /* the cycle is reported where it closes, in the file that extends the first one again */
    snprintf(want, sizeof(want), "%s:3: extends \"cycle-a.xml\": cycle (%s -> %s -> %s)",
             data("cycle-b.xml"), DATA "cycle-a.xml", DATA "cycle-b.xml", DATA "cycle-a.xml");
    expect_errors(data("cycle-a.xml"), (const char *const[]){want}, 1);

    /* an overlay's mistakes are reported at the overlay's file and lines */
    EXPECT("overlay-errors.xml",
           "5: bad value \"autodiscover.contoso.com\" for external-url: expected an absolute URL "
           "such as https://mail.contoso.com/EWS/Exchange.asmx",
           "7: listener \"edge\": server \"EX2\" does not exist");
}

static void test_resolve(void **state)
{
    char out[PATH_MAX], small[8];
    (void)state;

    assert_int_equal(scn_resolve("healthy", out, sizeof(out)), 0);
    assert_string_equal(out, HEALTHY);
    assert_string_equal(scn_bundled_dir(), MRSMOCK_SRCDIR "/scenarios");
    assert_int_equal(scn_resolve(data("overlay.xml"), out, sizeof(out)), 0);
    assert_string_equal(out, data("overlay.xml"));
    assert_int_equal(scn_resolve("no-such-scenario", out, sizeof(out)), -1);
    assert_int_equal(scn_resolve("../healthy", out, sizeof(out)), -1);
    assert_int_equal(scn_resolve("missing/path.xml", out, sizeof(out)), -1);
    assert_int_equal(scn_resolve("", out, sizeof(out)), -1);
    assert_int_equal(scn_resolve("healthy", small, sizeof(small)), -1);
}

/* Every bundled scenario loads without a single message. */
static void test_bundled_scenarios(void **state)
{
    DIR *d = opendir(scn_bundled_dir());
    struct dirent *de;
    unsigned loaded = 0, failed = 0;
    (void)state;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        char path[PATH_MAX];
        if (len < 5 || strcmp(de->d_name + len - 4, ".xml") != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", scn_bundled_dir(), de->d_name);
        struct scn_errors e = {0};
        struct scn *s = scn_load(path, &e);
        if (s == NULL || e.count != 0) {
            print_error("%s", e.text != NULL ? e.text : "?\n");
            failed++;
        } else {
            loaded++;
        }
        scn_unref(s);
        scn_errors_free(&e);
    }
    closedir(d);
    assert_int_equal(failed, 0);
    assert_true(loaded >= 1); /* healthy.xml at least */
}

/* The PKI vocabulary of issue 5: CAs in issuing order, issuers, chains, revocation. */
static void test_pki_model(void **state)
{
    struct scn *s = load_ok(data("tls-kinds.xml"));
    const struct scn_listener *edge, *pki;
    (void)state;

    assert_int_equal(s->num_cas, 2);
    assert_string_equal(s->cas[0].id, "issuing");
    assert_string_equal(s->cas[0].name, "mrsmock Lab Issuing CA 1");
    assert_null(s->cas[0].issuer);
    assert_false(s->cas[0].self_signed);
    assert_int_equal(s->cas[0].not_before, -365 * 86400);
    assert_int_equal(s->cas[0].not_after, 5 * 365 * 86400);
    assert_int_equal(s->cas[0].key, SCN_KEY_EC);
    assert_string_equal(s->cas[0].digest, "sha256");
    assert_int_equal(s->cas[1].not_after, -86400);
    for (size_t i = 0; i < s->num_certs; i++) {
        const struct scn_cert *c = &s->certs[i];
        if (strcmp(c->id, "mail") == 0) {
            assert_null(c->issuer);
            assert_int_equal(c->chain, SCN_CHAIN_FULL);
            assert_false(c->revoked);
        } else if (strcmp(c->id, "revoked") == 0) {
            assert_true(c->revoked);
        } else if (strcmp(c->id, "introot") == 0) {
            assert_ptr_equal(c->issuer, &s->cas[0]);
            assert_int_equal(c->chain, SCN_CHAIN_ROOT);
        } else if (strcmp(c->id, "weakkey") == 0) {
            assert_int_equal(c->key, SCN_KEY_RSA);
            assert_int_equal(c->key_bits, 1024);
        }
    }
    edge = scn_listener_by_name(s, "edge");
    pki = scn_listener_by_name(s, "pki");
    assert_int_equal(edge->num_sni, 7);
    assert_false(edge->crl);
    assert_int_equal(edge->client_cert, SCN_CLIENT_CERT_IGNORE);
    assert_null(edge->ciphers);
    assert_int_equal(edge->hs.action, SCN_HS_NONE);
    assert_true(pki->crl);
    assert_ptr_equal(scn_crl_listener(s), pki);
    scn_unref(s);

    /* an issuer named before it is defined; a branch under a root of its own */
    s = load_ok(MRSMOCK_SRCDIR "/scenarios/untrusted-certificate.xml");
    assert_int_equal(s->num_cas, 2);
    assert_string_equal(s->cas[0].id, "contoso-root");
    assert_true(s->cas[0].self_signed);
    assert_ptr_equal(s->cas[1].issuer, &s->cas[0]);
    assert_ptr_equal(s->certs[0].issuer, &s->cas[1]);
    assert_null(scn_crl_listener(s));
    scn_unref(s);

    s = load_ok(MRSMOCK_SRCDIR "/scenarios/self-signed.xml");
    assert_true(s->certs[0].self_signed);
    assert_null(s->certs[0].issuer);
    scn_unref(s);
}

/* A virtual directory's application pool: its state from the scenario, its name from setup. */
static void test_app_pool(void **state)
{
    char path[PATH_MAX];
    struct scn *s;
    (void)state;

    snprintf(path, sizeof(path), "%s", MRSMOCK_SRCDIR "/scenarios/app-pool-stopped.xml");
    s = load_ok(path);
    assert_int_equal(s->servers[0].ews.app_pool, SCN_POOL_STOPPED);
    assert_string_equal(s->servers[0].ews.app_pool_name, "MSExchangeServicesAppPool");
    assert_int_equal(s->servers[0].autodiscover.app_pool, SCN_POOL_STARTED); /* default */
    assert_string_equal(s->servers[0].autodiscover.app_pool_name, "MSExchangeAutodiscoverAppPool");
    scn_unref(s);
    EXPECT("bad-app-pool.xml", "3: bad value \"paused\" for app-pool: expected started, stopped, "
                               "rapid-fail or queue-full");
}

/* Which listener a URL handed out for a host goes to. */
static void test_listener_for_host(void **state)
{
    struct scn *s = load_ok(data("tls-kinds.xml"));
    size_t edge = (size_t)(scn_listener_by_name(s, "edge") - s->listeners);
    size_t pki = (size_t)(scn_listener_by_name(s, "pki") - s->listeners);
    (void)state;

    assert_int_equal(scn_listener_for_host(s, "MAIL.contoso.com", 16, SIZE_MAX, 0), edge);
    assert_int_equal(scn_listener_for_host(s, "mail.contoso.com", 16, pki, 0), edge);
    assert_int_equal(scn_listener_for_host(s, "crl.contoso.com", 15, edge, 0), pki);
    assert_int_equal(scn_listener_for_host(s, "crl.contoso.com", 15, pki, 1), SIZE_MAX);
    assert_int_equal(scn_listener_for_host(s, "other.contoso.com", 17, edge, 0), SIZE_MAX);
    /* a prefix of a served name is not that name */
    assert_int_equal(scn_listener_for_host(s, "mail.contoso.co", 15, SIZE_MAX, 0), SIZE_MAX);
    scn_unref(s);
}

static void test_tls_listener_model(void **state)
{
    struct scn *s = load_ok(data("tls-settings.xml"));
    const struct scn_listener *l;
    (void)state;

    l = scn_listener_by_name(s, "tls12");
    assert_int_equal(l->tls_min, SCN_TLS12);
    assert_int_equal(l->tls_max, SCN_TLS12);
    assert_string_equal(l->ciphers, "ECDHE-ECDSA-AES128-GCM-SHA256");
    assert_null(l->ciphersuites);
    assert_string_equal(scn_listener_by_name(s, "tls13")->ciphersuites,
                        "TLS_CHACHA20_POLY1305_SHA256");
    assert_int_equal(scn_listener_by_name(s, "require")->client_cert, SCN_CLIENT_CERT_REQUIRE);
    assert_int_equal(scn_listener_by_name(s, "accept")->client_cert, SCN_CLIENT_CERT_ACCEPT);
    scn_unref(s);

    s = load_ok(data("tls-faults.xml"));
    l = scn_listener_by_name(s, "alert");
    assert_int_equal(l->hs.action, SCN_HS_ALERT);
    assert_int_equal(l->hs.alert, 112);
    assert_string_equal(scn_alert_name(l->hs.alert), "unrecognized_name");
    assert_int_equal(l->hs.sni, SCN_HS_SNI_UNKNOWN);
    l = scn_listener_by_name(s, "close");
    assert_int_equal(l->hs.action, SCN_HS_CLOSE);
    assert_int_equal(l->hs.alert, 40); /* default: handshake_failure */
    assert_int_equal(l->hs.first, 2);
    assert_int_equal(l->hs.every, 0);
    assert_int_equal(l->hs.sni, SCN_HS_SNI_ANY);
    assert_int_equal(scn_listener_by_name(s, "reset")->hs.every, 2);
    assert_int_equal(scn_listener_by_name(s, "plain")->hs.action, SCN_HS_PLAIN_HTTP);
    assert_int_equal(scn_listener_by_name(s, "silent")->hs.action, SCN_HS_SILENT);
    assert_int_equal(scn_listener_by_name(s, "hang")->hs.action, SCN_HS_HANG);
    assert_int_equal(scn_listener_by_name(s, "edge")->hs.action, SCN_HS_NONE);
    assert_null(scn_alert_name(0));
    scn_unref(s);
}

static void test_tls_errors(void **state)
{
    (void)state;
    EXPECT("tls-errors.xml", "10: bad value \"all\" for chain: expected full, leaf or root",
           "12: bad value \"NO-SUCH-CIPHER\" for ciphers: expected an OpenSSL cipher string that "
           "selects at least one cipher, such as ECDHE+AESGCM",
           "12: bad value \"maybe\" for client-certificate: expected ignore, accept or require",
           "13: bad value \"bogus_alert\" for alert: expected a TLS alert name such as "
           "handshake_failure or unrecognized_name",
           "4: ca \"lab\": the id is reserved (\"lab\" is the lab root CA, \"self\" means "
           "self-signed)",
           "5: ca \"a\": issuer \"b\" leads back to itself (a cycle of issuers)",
           "6: ca \"b\": issuer \"a\" leads back to itself (a cycle of issuers)",
           "7: ca \"rogue\": a self-signed CA cannot be revoked (no issuer publishes a CRL for it)",
           "8: certificate \"x\": issuer \"nope\" is not a defined ca (nor lab or self)",
           "13: missing required attribute \"action\" on <handshake-fault> of listener \"edge\"",
           "16: listener \"plain\": <handshake-fault> needs a TLS listener (tls is false)",
           "18: listener \"plain2\": crl=\"true\" is already set on listener \"plain\" (one "
           "listener publishes the CRLs)");
    EXPECT("tls-revoked-no-crl.xml", "4: certificate \"mail\": revoked=\"true\" needs a listener "
                                     "with crl=\"true\" to publish the CRL");
}

static void test_refcount_and_names(void **state)
{
    struct scn *s = load_ok(HEALTHY);
    (void)state;

    scn_ref(s);
    scn_unref(s);
    assert_string_equal(s->name, "healthy"); /* still held once */
    scn_unref(s);
    scn_unref(NULL);

    assert_string_equal(scn_version_name(SCN_V2010), "Exchange2010");
    assert_string_equal(scn_version_name(SCN_V2013), "Exchange2013");
    assert_string_equal(scn_version_name(SCN_V2016), "Exchange2016");
    assert_string_equal(scn_version_name(SCN_V2019), "Exchange2019");
}

/* A document in memory: loaded as the file with its bytes would be, its messages under the name
 * given with their lines, its bases among the bundled scenarios, the same file twice alike. */
static void test_load_mem(void **state)
{
    static const char ok[] = "<?xml version=\"1.0\"?>\n"
                             "<scenario xmlns=\"urn:mrsmock:scenario:1\" name=\"mem\"\n"
                             "          extends=\"healthy\">\n"
                             "  <organization netbios=\"CONTOSO\"/>\n"
                             "</scenario>\n";
    static const char bad[] = "<?xml version=\"1.0\"?>\n"
                              "<scenario xmlns=\"urn:mrsmock:scenario:1\" name=\"mem\"\n"
                              "          extends=\"healthy\">\n"
                              "\n"
                              "  <organization ntlmv1=\"maybe\"/>\n"
                              "  <bogus/>\n"
                              "</scenario>\n";
    struct scn_errors e = {0};
    struct scn *s, *f;
    char *copy;
    FILE *fp;
    long len;
    (void)state;

    s = scn_load_mem("upload.xml", ok, sizeof(ok) - 1, &e);
    assert_null(e.text);
    assert_non_null(s);
    assert_string_equal(s->name, "mem");
    assert_string_equal(s->file, "upload.xml");
    assert_string_equal(s->domain, "contoso.com");
    assert_true(s->num_accounts > 0);
    scn_unref(s);

    s = scn_load_mem("upload.xml", bad, sizeof(bad) - 1, &e);
    assert_null(s);
    assert_int_equal(e.count, 2);
    assert_string_equal(e.text,
                        "upload.xml:5: bad value \"maybe\" for ntlmv1: expected true or false\n"
                        "upload.xml:6: unknown element <bogus> in <scenario>\n");
    scn_errors_free(&e);

    /* a line break in a value (a character reference) stays in its one line, as written */
    static const char nl[] = "<scenario xmlns=\"urn:mrsmock:scenario:1\" name=\"mem\" "
                             "extends=\"healthy\">\n"
                             "<organization ntlmv1=\"a&#10;b&#13;\"/></scenario>";
    s = scn_load_mem("nl.xml", nl, sizeof(nl) - 1, &e);
    assert_null(s);
    assert_string_equal(
        e.text, "nl.xml:2: bad value \"a&#10;b&#13;\" for ntlmv1: expected true or false\n");
    scn_errors_free(&e);

    /* not well-formed, and not NUL-terminated: only LEN bytes are read */
    s = scn_load_mem("cut", ok, 60, &e);
    assert_null(s);
    assert_int_equal(e.count, 1);
    assert_true(strncmp(e.text, "cut:2: not well-formed: ", 24) == 0);
    scn_errors_free(&e);
    s = scn_load_mem("empty", NULL, 0, &e);
    assert_null(s);
    assert_int_equal(e.count, 1);
    assert_true(strncmp(e.text, "empty:", 6) == 0);
    scn_errors_free(&e);

    /* a bundled scenario's bytes give the same model as its file */
    assert_non_null(fp = fopen(HEALTHY, "rb"));
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    assert_true((len = ftell(fp)) > 0);
    rewind(fp);
    copy = malloc((size_t)len);
    assert_int_equal(fread(copy, 1, (size_t)len, fp), (size_t)len);
    fclose(fp);
    s = scn_load_mem("healthy.xml", copy, (size_t)len, &e);
    free(copy);
    f = load_ok(HEALTHY);
    assert_non_null(s);
    assert_string_equal(s->name, f->name);
    assert_int_equal(s->num_accounts, f->num_accounts);
    assert_int_equal(s->num_listeners, f->num_listeners);
    assert_int_equal(s->accounts[0].at.line, f->accounts[0].at.line);
    assert_string_equal(s->accounts[0].at.file, "healthy.xml");
    scn_unref(s);
    scn_unref(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_healthy),
        cmocka_unit_test(test_all_values),
        cmocka_unit_test(test_new_values),
        cmocka_unit_test(test_new_values_overlay),
        cmocka_unit_test(test_outlook_anywhere),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_invalid_files),
        cmocka_unit_test(test_new_values_errors),
        cmocka_unit_test(test_duplicate_account),
        cmocka_unit_test(test_several_errors),
        cmocka_unit_test(test_quiet),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_extends_overlay),
        cmocka_unit_test(test_extends_beside),
        cmocka_unit_test(test_extends_errors),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_bundled_scenarios),
        cmocka_unit_test(test_refcount_and_names),
        cmocka_unit_test(test_pki_model),
        cmocka_unit_test(test_tls_listener_model),
        cmocka_unit_test(test_listener_for_host),
        cmocka_unit_test(test_app_pool),
        cmocka_unit_test(test_tls_errors),
        cmocka_unit_test(test_load_mem),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
