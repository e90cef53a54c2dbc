/*
 * test_tls — the TLS context a listener gets from its scenario: versions, cipher lists, the
 * security level lowered only where the scenario asks for something weak, client certificates,
 * and the chain sent with the certificate. Scenarios are the bundled ones and the fixtures of
 * tests/data/scenarios; certificates come from a lab PKI in a mkdtemp() folder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tls.h"

#ifndef MRSMOCK_SRCDIR
#define MRSMOCK_SRCDIR "."
#endif

struct fixture {
    char dir[64];
    char err[512];
    struct pki *pki;
    struct scn *s;
    SSL_CTX *ctx;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/test_tls.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->pki = pki_open(f->dir, f->err, sizeof(f->err));
    if (f->pki == NULL)
        return -1;
    *state = f;
    return 0;
}

static int on_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    UNUSED(st), UNUSED(flag), UNUSED(ftw);
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    SSL_CTX_free(f->ctx);
    scn_unref(f->s);
    pki_close(f->pki);
    nftw(f->dir, on_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Loads PATH (relative to the source tree) into the fixture. */
static void load(struct fixture *f, const char *path)
{
    struct scn_errors e = {0};
    char full[512];

    scn_unref(f->s);
    snprintf(full, sizeof(full), "%s/%s", MRSMOCK_SRCDIR, path);
    f->s = scn_load(full, &e);
    if (f->s == NULL)
        print_error("%s", e.text != NULL ? e.text : "");
    scn_errors_free(&e);
    assert_non_null(f->s);
}

/* The context of listener NAME of the loaded scenario. */
static SSL_CTX *build(struct fixture *f, const char *name)
{
    const struct scn_listener *l = scn_listener_by_name(f->s, name);

    assert_non_null(l);
    SSL_CTX_free(f->ctx);
    f->ctx = tls_build(f->s, l, f->pki, NULL, f->err, sizeof(f->err));
    if (f->ctx == NULL)
        print_error("%s", f->err);
    assert_non_null(f->ctx);
    return f->ctx;
}

static int num_chain_certs(SSL_CTX *ctx)
{
    STACK_OF(X509) *chain = NULL;
    SSL_CTX_get0_chain_certs(ctx, &chain);
    return chain != NULL ? sk_X509_num(chain) : 0;
}

/* Whether the (TLS 1.2 and below) cipher NAME is in CTX's list. */
static int has_cipher(SSL_CTX *ctx, const char *name)
{
    STACK_OF(SSL_CIPHER) *list = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(list); i++)
        if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)), name) == 0)
            return 1;
    return 0;
}

static void test_healthy(void **state)
{
    struct fixture *f = *state;
    SSL_CTX *ctx;
    int level;

    load(f, "scenarios/healthy.xml");
    ctx = build(f, "edge");
    assert_int_equal(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
    level = SSL_CTX_get_security_level(ctx);
    assert_true(level >= 1);
    assert_int_equal(SSL_CTX_get_verify_mode(ctx), SSL_VERIFY_NONE);
    assert_true((SSL_CTX_get_mode(ctx) & SSL_MODE_NO_AUTO_CHAIN) != 0);
    assert_int_equal(num_chain_certs(ctx), 0);
}

static void test_weak_settings_lower_the_level(void **state)
{
    struct fixture *f = *state;

    load(f, "scenarios/tls10-only.xml");
    assert_int_equal(SSL_CTX_get_security_level(build(f, "edge")), 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(f->ctx), TLS1_VERSION);
    assert_int_equal(SSL_CTX_get_max_proto_version(f->ctx), TLS1_VERSION);
    load(f, "scenarios/weak-signature.xml");
    assert_int_equal(SSL_CTX_get_security_level(build(f, "edge")), 0);
    load(f, "tests/data/scenarios/tls-settings.xml");
    assert_int_equal(SSL_CTX_get_security_level(build(f, "weak")), 0);
    assert_true(has_cipher(f->ctx, "ECDHE-ECDSA-NULL-SHA"));
    /* the other listeners of the same scenario keep theirs */
    assert_true(SSL_CTX_get_security_level(build(f, "tls12")) >= 1);
    assert_true(SSL_CTX_get_security_level(build(f, "edge")) >= 1);
}

static void test_cipher_lists(void **state)
{
    struct fixture *f = *state;

    load(f, "tests/data/scenarios/tls-settings.xml");
    build(f, "tls12");
    assert_true(has_cipher(f->ctx, "ECDHE-ECDSA-AES128-GCM-SHA256"));
    assert_false(has_cipher(f->ctx, "ECDHE-ECDSA-AES256-GCM-SHA384"));
    assert_int_equal(SSL_CTX_get_max_proto_version(f->ctx), TLS1_2_VERSION);
    build(f, "tls13");
    assert_true(has_cipher(f->ctx, "TLS_CHACHA20_POLY1305_SHA256"));
    assert_false(has_cipher(f->ctx, "TLS_AES_256_GCM_SHA384"));
}

static void test_client_certificates(void **state)
{
    struct fixture *f = *state;

    load(f, "tests/data/scenarios/tls-settings.xml");
    assert_int_equal(SSL_CTX_get_verify_mode(build(f, "require")),
                     SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
    assert_int_equal(sk_X509_NAME_num(SSL_CTX_get_client_CA_list(f->ctx)), 1);
    assert_int_equal(SSL_CTX_get_verify_mode(build(f, "accept")), SSL_VERIFY_PEER);
    assert_int_equal(SSL_CTX_get_verify_mode(build(f, "tls12")), SSL_VERIFY_NONE);
}

static void test_chain_sent(void **state)
{
    struct fixture *f = *state;

    load(f, "scenarios/missing-intermediate.xml");
    assert_int_equal(num_chain_certs(build(f, "edge")), 0);
    load(f, "scenarios/untrusted-certificate.xml");
    assert_int_equal(num_chain_certs(build(f, "edge")), 1); /* the issuing CA, not the root */
    load(f, "scenarios/self-signed.xml");
    assert_int_equal(num_chain_certs(build(f, "edge")), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_healthy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weak_settings_lower_the_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cipher_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_certificates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chain_sent, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
