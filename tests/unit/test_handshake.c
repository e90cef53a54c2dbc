/*
 * test_handshake — the parts of the handshake faults that need no socket: the schedule, the SNI
 * parser (fed real ClientHellos made by OpenSSL, then cut and damaged ones), which names a
 * listener knows, and cutting a server's first flight after its ServerHello.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "handshake.h"

/* The first flight of a client (its ClientHello record) for SNI (NULL: none), into OUT. */
static size_t client_hello(const char *sni, int max_version, unsigned char *out, size_t cap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    int n;

    assert_non_null(ssl);
    if (max_version != 0)
        SSL_set_max_proto_version(ssl, max_version);
    SSL_set_bio(ssl, rbio, wbio);
    if (sni != NULL)
        SSL_set_tlsext_host_name(ssl, sni);
    SSL_set_connect_state(ssl);
    assert_int_equal(SSL_do_handshake(ssl), -1);
    n = BIO_read(wbio, out, (int)cap);
    assert_true(n > 0);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return (size_t)n;
}

static void test_schedule(void **state)
{
    (void)state;
    for (uint64_t n = 1; n < 10; n++)
        assert_true(hs_scheduled(n, 0, 0));
    assert_true(hs_scheduled(1, 2, 0));
    assert_true(hs_scheduled(2, 2, 0));
    assert_false(hs_scheduled(3, 2, 0));
    assert_false(hs_scheduled(1, 0, 3));
    assert_true(hs_scheduled(3, 0, 3));
    assert_true(hs_scheduled(6, 0, 3));
    assert_false(hs_scheduled(7, 0, 3));
    /* both: every 2nd among the first 5 */
    assert_true(hs_scheduled(4, 5, 2));
    assert_false(hs_scheduled(5, 5, 2));
    assert_false(hs_scheduled(6, 5, 2));
}

static void test_sni_of_real_hellos(void **state)
{
    unsigned char buf[4096];
    char name[256];
    size_t n;
    (void)state;

    n = client_hello("autodiscover.contoso.com", 0, buf, sizeof(buf));
    assert_int_equal(hs_parse_sni(buf, n, name, sizeof(name)), 1);
    assert_string_equal(name, "autodiscover.contoso.com");
    n = client_hello("mail.contoso.com", TLS1_2_VERSION, buf, sizeof(buf));
    assert_int_equal(hs_parse_sni(buf, n, name, sizeof(name)), 1);
    assert_string_equal(name, "mail.contoso.com");
    n = client_hello(NULL, 0, buf, sizeof(buf));
    assert_int_equal(hs_parse_sni(buf, n, name, sizeof(name)), 0);
    /* a name longer than the room given is not half-copied */
    n = client_hello("autodiscover.contoso.com", 0, buf, sizeof(buf));
    assert_int_equal(hs_parse_sni(buf, n, name, 8), -1);
}

/* Every prefix of a real hello, and every single-byte change, is parsed without reading outside
 * the buffer (ASan watches) and never yields a name that was not there. */
static void test_sni_of_damaged_hellos(void **state)
{
    unsigned char buf[4096], *copy;
    char name[256];
    size_t n;
    (void)state;

    n = client_hello("mail.contoso.com", 0, buf, sizeof(buf));
    for (size_t len = 0; len < n; len++) {
        copy = malloc(len + 1);
        memcpy(copy, buf, len);
        int r = hs_parse_sni(copy, len, name, sizeof(name));
        assert_true(r <= 0 || strcmp(name, "mail.contoso.com") == 0);
        free(copy);
    }
    copy = malloc(n);
    for (size_t i = 0; i < n; i++) {
        memcpy(copy, buf, n);
        copy[i] ^= 0xff;
        hs_parse_sni(copy, n, name, sizeof(name));
    }
    free(copy);
    assert_int_equal(
        hs_parse_sni((const unsigned char *)"GET / HTTP/1.1\r\n", 16, name, sizeof(name)), -1);
}

/* Records whose lengths lie: a record too short for the handshake header, a hello claiming
 * 16 MB, a session id longer than what is left. Each in an exact-size heap copy, so that ASan
 * sees any read past it (a reviewer's fuzzer crashed the first of these). */
static void test_sni_of_lying_lengths(void **state)
{
    static const unsigned char head[] = {0x16, 0x03, 0x01, 0x00, 0x00, 0x01,
                                         0xff, 0xff, 0xff, 0x03, 0x03};
    unsigned char *rec = malloc(64);
    char name[256];
    (void)state;

    memset(rec, 0, 64);
    memcpy(rec, head, sizeof(head));
    rec[11 + 32] = 0;    /* session id length */
    rec[11 + 33] = 0xff; /* cipher suites length: far past the end */
    rec[11 + 34] = 0xf0;
    assert_int_equal(hs_parse_sni(rec, 64, name, sizeof(name)), -1);
    rec[4] = 3; /* record length 3: no room for the handshake header */
    assert_int_equal(hs_parse_sni(rec, 64, name, sizeof(name)), -1);
    rec[4] = 59;         /* a plausible record... */
    rec[11 + 32] = 0xff; /* ...with a session id longer than what is left */
    assert_int_equal(hs_parse_sni(rec, 64, name, sizeof(name)), -1);
    free(rec);
}

static void test_names_known(void **state)
{
    const char *names[] = {"mail.contoso.com", "*.lab.contoso.com"};
    struct scn_cert cert = {.id = "mail", .names = names, .num_names = 2};
    struct scn_cert other = {.id = "ad"};
    struct scn_sni sni[] = {{.name = "autodiscover.contoso.com", .cert = &other}};
    struct scn_listener l = {.name = "edge", .tls = 1, .cert = &cert, .sni = sni, .num_sni = 1};
    (void)state;

    assert_true(hs_name_known(&l, "MAIL.contoso.com"));
    assert_true(hs_name_known(&l, "autodiscover.contoso.com"));
    assert_true(hs_name_known(&l, "ex1.lab.contoso.com"));
    assert_false(hs_name_known(&l, "a.b.lab.contoso.com")); /* a wildcard covers one label */
    assert_false(hs_name_known(&l, "lab.contoso.com"));
    assert_false(hs_name_known(&l, "other.contoso.com"));
}

/* A self-signed server context, enough to produce a real ServerHello. */
static SSL_CTX *server_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = X509_new();

    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME_add_entry_by_NID(X509_get_subject_name(x), NID_commonName, MBSTRING_UTF8,
                               (const unsigned char *)"test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_sign(x, key, EVP_sha256());
    assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

/* The server's first flight for a hello of MAX_VERSION, cut after its ServerHello. */
static void cut_flight(int max_version)
{
    unsigned char hello[4096], flight[16384], out[16384];
    SSL_CTX *ctx = server_ctx();
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    size_t n = client_hello("mail.contoso.com", max_version, hello, sizeof(hello)), cut;
    int f;

    SSL_set_bio(ssl, rbio, wbio);
    SSL_set_accept_state(ssl);
    BIO_write(rbio, hello, (int)n);
    assert_int_equal(SSL_do_handshake(ssl), -1);
    f = BIO_read(wbio, flight, sizeof(flight));
    assert_true(f > 0);
    cut = hs_cut_after_server_hello(flight, (size_t)f, out);
    assert_true(cut > 9 && cut < (size_t)f);
    assert_int_equal(out[0], 22);
    assert_int_equal(out[5], 2);
    assert_int_equal(((size_t)out[3] << 8 | out[4]) + 5, cut);
    assert_int_equal(((size_t)out[6] << 16 | (size_t)out[7] << 8 | out[8]) + 9, cut);
    assert_memory_equal(out + 5, flight + 5, cut - 5);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    ERR_clear_error();
}

static void test_cut_after_server_hello(void **state)
{
    unsigned char out[64];
    (void)state;

    cut_flight(0);              /* TLS 1.3: ServerHello, then the encrypted rest */
    cut_flight(TLS1_2_VERSION); /* TLS 1.2: ServerHello, Certificate, ... in the clear */
    /* an alert is not a ServerHello */
    assert_int_equal(
        hs_cut_after_server_hello((const unsigned char *)"\x15\x03\x03\x00\x02\x02\x28", 7, out),
        0);
    assert_int_equal(hs_cut_after_server_hello((const unsigned char *)"\x16\x03", 2, out), 0);
}

static void test_listener_without_fault(void **state)
{
    struct scn_listener l = {.name = "edge", .tls = 1};
    (void)state;
    assert_null(hs_listener_new(&l, NULL));
    l.hs.action = SCN_HS_HANG;
    l.tls = 0;
    assert_null(hs_listener_new(&l, NULL));
    l.tls = 1;
    struct hs_listener *h = hs_listener_new(&l, NULL);
    assert_non_null(h);
    hs_listener_free(h);
    l.hs.action = SCN_HS_ALERT;
    l.hs.alert = 112;
    h = hs_listener_new(&l, NULL);
    assert_non_null(h);
    hs_listener_free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_sni_of_real_hellos),
        cmocka_unit_test(test_sni_of_damaged_hellos),
        cmocka_unit_test(test_sni_of_lying_lengths),
        cmocka_unit_test(test_names_known),
        cmocka_unit_test(test_cut_after_server_hello),
        cmocka_unit_test(test_listener_without_fault),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
