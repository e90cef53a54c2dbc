/*
 * Unit tests of pki: the lab CA, issuing, the cache and when it re-issues, bad input.
 * Each test works in its own mkdtemp() folder; everything a test allocates hangs off its fixture
 * so that teardown frees it even when an assertion stopped the test half-way.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "pki.h"

#define DAY 86400
#define NUM_SLOTS 4

struct fixture {
    char dir[64];
    char err[256];
    struct pki *p[2];
    X509 *x[NUM_SLOTS];
    EVP_PKEY *k[NUM_SLOTS];
};

static const char *mail_names[] = {"mail.contoso.com", "autodiscover.contoso.com", "127.0.0.1",
                                   "::1"};

static struct scn_cert request(const char *id, const char **names, size_t num_names)
{
    return (struct scn_cert){
        .id = id,
        .names = names,
        .num_names = num_names,
        .not_before = -30 * DAY,
        .not_after = 365 * DAY,
        .key = SCN_KEY_EC,
        .key_bits = 256,
        .digest = "sha256",
    };
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return -1;
    strcpy(f->dir, "/tmp/test_pki.XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int on_remove(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    UNUSED(st);
    UNUSED(flag);
    UNUSED(ftw);
    chmod(path, 0700); /* a test may have taken the write bit away */
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    for (int i = 0; i < NUM_SLOTS; i++) {
        X509_free(f->x[i]);
        EVP_PKEY_free(f->k[i]);
    }
    pki_close(f->p[0]);
    pki_close(f->p[1]);
    nftw(f->dir, on_remove, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Issues REQ of scenario "lab" into slot I, asserting success. */
static void get(struct fixture *f, int i, const struct scn_cert *req)
{
    X509_free(f->x[i]);
    EVP_PKEY_free(f->k[i]);
    f->x[i] = NULL;
    f->k[i] = NULL;
    assert_int_equal(pki_get(f->p[0], "lab", req, &f->x[i], &f->k[i], f->err, sizeof(f->err)), 0);
    assert_non_null(f->x[i]);
    assert_non_null(f->k[i]);
}

static void open_pki(struct fixture *f, int i)
{
    pki_close(f->p[i]);
    f->p[i] = pki_open(f->dir, f->err, sizeof(f->err));
    assert_non_null(f->p[i]);
}

static int same_serial(const X509 *a, const X509 *b)
{
    return ASN1_INTEGER_cmp(X509_get0_serialNumber(a), X509_get0_serialNumber(b)) == 0;
}

/* X509_verify_cert() of X against a store holding only CA (none when NULL): the error. */
static int verify(X509 *ca, X509 *x)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int e = X509_V_ERR_UNSPECIFIED;

    if (store != NULL && ctx != NULL && (ca == NULL || X509_STORE_add_cert(store, ca) == 1) &&
        X509_STORE_CTX_init(ctx, store, x, NULL) == 1)
        e = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return e;
}

static unsigned mode_of(const char *dir, const char *name)
{
    char path[512];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) != 0)
        return 01000; /* no such file: matches no mode */
    return st.st_mode & 0777;
}

static int exists(const char *dir, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_ca_created(void **state)
{
    struct fixture *f = *state;
    X509 *ca;
    char path[128], cn[128];
    time_t t = time(NULL) + 9 * 365 * (time_t)DAY;

    open_pki(f, 0);
    ca = pki_ca_cert(f->p[0]);
    assert_non_null(ca);
    snprintf(path, sizeof(path), "%s/pki/ca.crt", f->dir);
    assert_string_equal(pki_ca_path(f->p[0]), path);
    assert_int_equal(mode_of(f->dir, "pki"), 0700);
    assert_int_equal(mode_of(f->dir, "pki/ca.key"), 0600);
    assert_int_equal(mode_of(f->dir, "pki/ca.crt"), 0644);
    assert_false(exists(f->dir, "pki/ca.key.tmp"));

    assert_int_equal(
        X509_NAME_get_text_by_NID(X509_get_subject_name(ca), NID_commonName, cn, sizeof(cn)) > 0,
        1);
    assert_string_equal(cn, "mrsmock Lab Root CA");
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_verify(ca, X509_get0_pubkey(ca)), 1);
    assert_int_equal(X509_get_signature_nid(ca), NID_ecdsa_with_SHA256);
    assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
    assert_true(EVP_PKEY_is_a(X509_get0_pubkey(ca), "EC"));
    assert_int_equal(verify(ca, ca), X509_V_OK);
    /* about ten years */
    assert_true(X509_cmp_time(X509_get0_notAfter(ca), &t) > 0);
}

static void test_ca_reused(void **state)
{
    struct fixture *f = *state;
    unsigned char md1[EVP_MAX_MD_SIZE], md2[EVP_MAX_MD_SIZE];
    unsigned len1, len2;

    open_pki(f, 0);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[0]), EVP_sha256(), md1, &len1), 1);
    open_pki(f, 1);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[1]), EVP_sha256(), md2, &len2), 1);
    assert_memory_equal(md1, md2, len1);
    assert_true(same_serial(pki_ca_cert(f->p[0]), pki_ca_cert(f->p[1])));
}

/* A ca.key that is not the key of ca.crt, then an unparsable ca.crt: each time a new CA. */
static void test_ca_replaced_when_unusable(void **state)
{
    struct fixture *f = *state;
    char other[128], mine[128];
    unsigned char md1[EVP_MAX_MD_SIZE], md2[EVP_MAX_MD_SIZE];
    unsigned len1, len2;

    snprintf(other, sizeof(other), "%s/other", f->dir);
    f->p[1] = pki_open(other, f->err, sizeof(f->err));
    assert_non_null(f->p[1]);
    open_pki(f, 0);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[0]), EVP_sha256(), md1, &len1), 1);

    snprintf(mine, sizeof(mine), "%s/pki/ca.key", f->dir);
    snprintf(other, sizeof(other), "%s/other/pki/ca.key", f->dir);
    assert_int_equal(rename(other, mine), 0);
    open_pki(f, 0);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[0]), EVP_sha256(), md2, &len2), 1);
    assert_memory_not_equal(md1, md2, len1);
    assert_false(same_serial(pki_ca_cert(f->p[0]), pki_ca_cert(f->p[1])));
    assert_int_equal(mode_of(f->dir, "pki/ca.key"), 0600);

    write_file(f->dir, "pki/ca.crt", "not a certificate\n");
    open_pki(f, 0);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[0]), EVP_sha256(), md1, &len1), 1);
    assert_memory_not_equal(md1, md2, len1);
}

/* A CA pair of another kind than the lab's (RSA, made by hand) is kept and issues leaves: the key
 * reader tries the lab's kind first, then any. */
static void test_ca_of_another_kind_kept(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 2);
    char path[128];
    static const struct {
        int nid;
        const char *value;
    } exts[] = {{NID_basic_constraints, "critical,CA:TRUE"}, {NID_subject_key_identifier, "hash"}};
    X509V3_CTX v3;
    X509_NAME *name;
    FILE *fp;

    /* slot 1 holds the hand-made pair, so that teardown frees it */
    assert_non_null(f->k[1] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
    assert_non_null(f->x[1] = X509_new());
    assert_non_null(name = X509_get_subject_name(f->x[1]));
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                                (const unsigned char *)"Hand-made RSA CA", -1, -1,
                                                0),
                     1);
    assert_int_equal(X509_set_issuer_name(f->x[1], name), 1);
    assert_int_equal(X509_set_version(f->x[1], 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(f->x[1]), 4242), 1);
    assert_non_null(X509_gmtime_adj(X509_getm_notBefore(f->x[1]), -400 * DAY));
    assert_non_null(X509_gmtime_adj(X509_getm_notAfter(f->x[1]), 3650 * DAY));
    assert_int_equal(X509_set_pubkey(f->x[1], f->k[1]), 1);
    X509V3_set_ctx(&v3, f->x[1], f->x[1], NULL, NULL, 0);
    for (size_t i = 0; i < 2; i++) { /* what `openssl req -x509` gives a CA */
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, exts[i].nid, exts[i].value);
        assert_non_null(e);
        assert_int_equal(X509_add_ext(f->x[1], e, -1), 1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(f->x[1], f->k[1], EVP_sha256()) > 0);

    open_pki(f, 0); /* the folders, and a lab CA the hand-made one replaces */
    snprintf(path, sizeof(path), "%s/pki/ca.key", f->dir);
    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(PEM_write_PrivateKey(fp, f->k[1], NULL, NULL, 0, NULL, NULL), 1);
    assert_int_equal(fclose(fp), 0);
    snprintf(path, sizeof(path), "%s/pki/ca.crt", f->dir);
    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(PEM_write_X509(fp, f->x[1]), 1);
    assert_int_equal(fclose(fp), 0);

    open_pki(f, 0);
    assert_int_equal(X509_cmp(pki_ca_cert(f->p[0]), f->x[1]), 0);
    get(f, 0, &req);
    assert_int_equal(X509_get_signature_nid(f->x[0]), NID_sha256WithRSAEncryption);
    assert_int_equal(verify(f->x[1], f->x[0]), X509_V_OK);
}

static void test_issue_ec(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 4);
    X509 *ca;
    GENERAL_NAMES *gens;
    char cn[128];
    int n;

    open_pki(f, 0);
    ca = pki_ca_cert(f->p[0]);
    get(f, 0, &req);

    assert_int_equal(X509_get_version(f->x[0]), X509_VERSION_3);
    assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(f->x[0]), NID_commonName, cn,
                                               sizeof(cn)) > 0,
                     1);
    assert_string_equal(cn, "mail.contoso.com");
    assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(f->x[0]), X509_get_subject_name(ca)), 0);
    gens = X509_get_ext_d2i(f->x[0], NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    n = sk_GENERAL_NAME_num(gens);
    GENERAL_NAMES_free(gens);
    assert_int_equal(n, 4);
    assert_int_equal(X509_check_host(f->x[0], "mail.contoso.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(f->x[0], "autodiscover.contoso.com", 0, 0, NULL), 1);
    assert_int_equal(X509_check_host(f->x[0], "other.contoso.com", 0, 0, NULL), 0);
    assert_int_equal(X509_check_ip_asc(f->x[0], "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(f->x[0], "::1", 0), 1);

    assert_true(EVP_PKEY_is_a(f->k[0], "EC"));
    assert_int_equal(EVP_PKEY_get_bits(f->k[0]), 256);
    assert_int_equal(X509_check_private_key(f->x[0], f->k[0]), 1);
    assert_int_equal(X509_check_ca(f->x[0]), 0);
    assert_int_equal(X509_get_key_usage(f->x[0]), KU_DIGITAL_SIGNATURE);
    assert_int_equal(X509_get_extended_key_usage(f->x[0]), XKU_SSL_SERVER);
    assert_non_null(X509_get0_subject_key_id(f->x[0]));
    assert_non_null(X509_get0_authority_key_id(f->x[0]));
    assert_int_equal(X509_get_signature_nid(f->x[0]), NID_ecdsa_with_SHA256);

    assert_int_equal(verify(ca, f->x[0]), X509_V_OK);
    assert_int_not_equal(verify(NULL, f->x[0]), X509_V_OK);

    assert_int_equal(mode_of(f->dir, "pki/scenarios/lab"), 0700);
    assert_int_equal(mode_of(f->dir, "pki/scenarios/lab/mail.key"), 0600);
    assert_int_equal(mode_of(f->dir, "pki/scenarios/lab/mail.crt"), 0644);
    assert_false(exists(f->dir, "pki/scenarios/lab/mail.crt.tmp"));
    assert_false(exists(f->dir, "pki/scenarios/lab/mail.key.tmp"));
}

static void test_issue_expired(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("expired", mail_names, 1);

    req.not_before = -30 * DAY;
    req.not_after = -DAY;
    open_pki(f, 0);
    get(f, 0, &req);
    assert_true(X509_cmp_current_time(X509_get0_notAfter(f->x[0])) < 0);
    assert_int_equal(verify(pki_ca_cert(f->p[0]), f->x[0]), X509_V_ERR_CERT_HAS_EXPIRED);
    /* and it stays expired from the cache */
    get(f, 1, &req);
    assert_true(same_serial(f->x[0], f->x[1]));
}

/* One RSA generation in all: the change of digest re-issues with the same key. */
static void test_issue_rsa_then_sha1(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("rsa", mail_names, 2);
    X509 *ca;

    req.key = SCN_KEY_RSA;
    req.key_bits = 2048;
    open_pki(f, 0);
    ca = pki_ca_cert(f->p[0]);
    get(f, 0, &req);
    assert_true(EVP_PKEY_is_a(f->k[0], "RSA"));
    assert_int_equal(EVP_PKEY_get_bits(f->k[0]), 2048);
    assert_int_equal(X509_check_private_key(f->x[0], f->k[0]), 1);
    assert_int_equal(X509_get_signature_nid(f->x[0]), NID_ecdsa_with_SHA256); /* CA is EC */
    assert_int_equal(X509_get_key_usage(f->x[0]), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
    assert_int_equal(verify(ca, f->x[0]), X509_V_OK);

    req.digest = "sha1";
    get(f, 1, &req);
    assert_false(same_serial(f->x[0], f->x[1]));
    assert_int_equal(EVP_PKEY_eq(f->k[0], f->k[1]), 1);
    assert_int_equal(X509_get_signature_nid(f->x[1]), NID_ecdsa_with_SHA1);
    assert_int_equal(X509_verify(f->x[1], X509_get0_pubkey(ca)), 1);
    /* the sha1 certificate is served from the cache like any other */
    get(f, 2, &req);
    assert_true(same_serial(f->x[1], f->x[2]));
}

static void test_issue_ec_sha1(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("weak", mail_names, 1);

    req.digest = "sha1";
    open_pki(f, 0);
    get(f, 0, &req);
    assert_int_equal(X509_get_signature_nid(f->x[0]), NID_ecdsa_with_SHA1);
    assert_int_equal(X509_verify(f->x[0], X509_get0_pubkey(pki_ca_cert(f->p[0]))), 1);
    get(f, 1, &req);
    assert_true(same_serial(f->x[0], f->x[1]));
}

static void test_cache_hit(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 2);

    open_pki(f, 0);
    get(f, 0, &req);
    /* the failed reads of the empty cache left nothing in OpenSSL's error queue */
    assert_int_equal(ERR_peek_error(), 0);
    get(f, 1, &req);
    assert_true(same_serial(f->x[0], f->x[1]));
    assert_int_equal(EVP_PKEY_eq(f->k[0], f->k[1]), 1);
    /* a new process finds it too */
    open_pki(f, 0);
    get(f, 2, &req);
    assert_true(same_serial(f->x[0], f->x[2]));
}

static void test_names_changed(void **state)
{
    struct fixture *f = *state;
    const char *swapped[] = {"autodiscover.contoso.com", "mail.contoso.com"};
    struct scn_cert req = request("mail", mail_names, 2);
    char cn[128];

    open_pki(f, 0);
    get(f, 0, &req);
    req.names = swapped;
    get(f, 1, &req);
    assert_false(same_serial(f->x[0], f->x[1]));
    assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(f->x[1]), NID_commonName, cn,
                                               sizeof(cn)) > 0,
                     1);
    assert_string_equal(cn, "autodiscover.contoso.com");
    req.num_names = 1;
    get(f, 2, &req);
    assert_false(same_serial(f->x[1], f->x[2]));
    assert_int_equal(X509_check_host(f->x[2], "mail.contoso.com", 0, 0, NULL), 0);
}

static void test_dates_drifted(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 1);
    time_t t;

    open_pki(f, 0);
    get(f, 0, &req);
    /* an hour is within the tolerance: same certificate */
    req.not_before += 3600;
    req.not_after += 3600;
    get(f, 1, &req);
    assert_true(same_serial(f->x[0], f->x[1]));
    /* two days later on notAfter alone: re-issued with the new date */
    req.not_after += 2 * DAY;
    get(f, 1, &req);
    assert_false(same_serial(f->x[0], f->x[1]));
    t = time(NULL) + 366 * (time_t)DAY;
    assert_true(X509_cmp_time(X509_get0_notAfter(f->x[1]), &t) > 0);
    /* and on notBefore alone */
    req.not_before -= 2 * DAY;
    get(f, 2, &req);
    assert_false(same_serial(f->x[1], f->x[2]));
    t = time(NULL) - 31 * (time_t)DAY;
    assert_true(X509_cmp_time(X509_get0_notBefore(f->x[2]), &t) < 0);
}

static void test_ca_regenerated_reissues(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 2);
    char path[128];

    open_pki(f, 0);
    get(f, 0, &req);
    pki_close(f->p[0]);
    f->p[0] = NULL;
    snprintf(path, sizeof(path), "%s/pki/ca.crt", f->dir);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof(path), "%s/pki/ca.key", f->dir);
    assert_int_equal(unlink(path), 0);
    open_pki(f, 0);
    get(f, 1, &req);
    assert_false(same_serial(f->x[0], f->x[1]));
    assert_int_equal(verify(pki_ca_cert(f->p[0]), f->x[1]), X509_V_OK);
    assert_int_not_equal(verify(pki_ca_cert(f->p[0]), f->x[0]), X509_V_OK);
}

/* A valid P-256 key that is not the certificate's, then garbage in either file. */
static void test_key_replaced_reissues(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 2);
    char from[128], to[128];

    open_pki(f, 0);
    get(f, 0, &req);
    snprintf(from, sizeof(from), "%s/pki/ca.key", f->dir);
    snprintf(to, sizeof(to), "%s/pki/scenarios/lab/mail.key", f->dir);
    assert_int_equal(unlink(to), 0);
    assert_int_equal(link(from, to), 0);
    get(f, 1, &req);
    assert_false(same_serial(f->x[0], f->x[1]));
    assert_int_equal(X509_check_private_key(f->x[1], f->k[1]), 1);

    write_file(f->dir, "pki/scenarios/lab/mail.key", "garbage\n");
    get(f, 2, &req);
    assert_false(same_serial(f->x[1], f->x[2]));
    assert_int_equal(X509_check_private_key(f->x[2], f->k[2]), 1);
    assert_int_equal(mode_of(f->dir, "pki/scenarios/lab/mail.key"), 0600);

    write_file(f->dir, "pki/scenarios/lab/mail.crt", "garbage\n");
    get(f, 3, &req);
    assert_false(same_serial(f->x[2], f->x[3]));
    assert_int_equal(EVP_PKEY_eq(f->k[2], f->k[3]), 1); /* the good key was kept */
}

static void test_unwritable_state(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("mail", mail_names, 1);
    char path[128];

    write_file(f->dir, "file", "x\n");
    snprintf(path, sizeof(path), "%s/file/state", f->dir);
    f->p[0] = pki_open(path, f->err, sizeof(f->err));
    assert_null(f->p[0]);
    assert_non_null(strstr(f->err, "cannot create"));
    assert_non_null(strstr(f->err, "Not a directory"));
    assert_null(strchr(f->err, '\n'));

    /* the scenarios' folder cannot be made: a file is in the way */
    open_pki(f, 0);
    write_file(f->dir, "pki/scenarios", "x\n");
    f->err[0] = '\0';
    assert_int_equal(pki_get(f->p[0], "blocked", &req, &f->x[0], &f->k[0], f->err, sizeof(f->err)),
                     -1);
    assert_null(f->x[0]);
    assert_null(f->k[0]);
    assert_non_null(strstr(f->err, "scenarios"));
    assert_int_equal(ERR_peek_error(), 0);
}

/* pki_get() of REQ in scenario SCENARIO that must fail: no objects, a message, a clean queue. */
static void get_fails(struct fixture *f, const char *scenario, const struct scn_cert *req,
                      const char *message)
{
    f->err[0] = '\0';
    assert_int_equal(pki_get(f->p[0], scenario, req, &f->x[0], &f->k[0], f->err, sizeof(f->err)),
                     -1);
    assert_null(f->x[0]);
    assert_null(f->k[0]);
    assert_non_null(strstr(f->err, message));
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_bad_requests(void **state)
{
    struct fixture *f = *state;
    const char *empty[] = {"mail.contoso.com", ""};
    struct scn_cert req = request("mail", mail_names, 1);

    open_pki(f, 0);
    get_fails(f, "", &req, "invalid scenario name");
    req.digest = "no-such-digest";
    get_fails(f, "lab", &req, "unknown digest \"no-such-digest\"");
    /* no ecdsa-with-MD5 exists, and the lab CA's key is EC */
    req.digest = "md5";
    get_fails(f, "lab", &req, "cannot sign with digest \"md5\"");
    req = request("", mail_names, 1);
    get_fails(f, "lab", &req, "invalid certificate id");
    req = request("mail", mail_names, 0);
    get_fails(f, "lab", &req, "no names");
    req = request("mail", empty, 2);
    get_fails(f, "lab", &req, "empty name");
}

static void test_scenario_name_sanitised(void **state)
{
    struct fixture *f = *state;
    struct scn_cert req = request("../mail", mail_names, 1);

    open_pki(f, 0);
    assert_int_equal(
        pki_get(f->p[0], "../../escape", &req, &f->x[0], &f->k[0], f->err, sizeof(f->err)), 0);
    assert_false(exists(f->dir, "escape"));
    assert_false(exists(f->dir, "mail.crt"));
    assert_true(exists(f->dir, "pki/scenarios/_._.._escape/_._mail.crt"));
    assert_int_equal(pki_get(f->p[0], "..", &req, &f->x[1], &f->k[1], f->err, sizeof(f->err)), 0);
    assert_true(exists(f->dir, "pki/scenarios/_./_._mail.crt"));
    /* a scenario named like the CA's own files keeps out of their way */
    assert_int_equal(pki_get(f->p[0], "ca.crt", &req, &f->x[2], &f->k[2], f->err, sizeof(f->err)),
                     0);
    assert_true(exists(f->dir, "pki/scenarios/ca.crt/_._mail.crt"));
}

/* Two processes opening an empty state folder at once end up with one and the same CA. Without
 * the lock both may make a CA and each keep its own; that depends on timing, so this test catches
 * a missing lock only some of the time (2 runs in 10 here), but never fails a correct one. */
/* X509_verify_cert() of X with the untrusted CHAIN against a store holding only CA. */
static int verify_chain(X509 *ca, X509 *x, STACK_OF(X509) * chain)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int e = X509_V_ERR_UNSPECIFIED;

    if (store != NULL && ctx != NULL && X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, x, chain) == 1)
        e = X509_verify_cert(ctx) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return e;
}

static struct scn_ca ca_request(const char *id, struct scn_ca *issuer)
{
    return (struct scn_ca){.id = id,
                           .name = id,
                           .issuer = issuer,
                           .not_before = -365 * DAY,
                           .not_after = 1825 * DAY,
                           .key = SCN_KEY_EC,
                           .key_bits = 256,
                           .digest = "sha256"};
}

/* The CRL distribution point URI of X, or "" */
static const char *cdp_of(X509 *x, char *buf, size_t len)
{
    STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
    buf[0] = '\0';
    if (dps != NULL) {
        GENERAL_NAME *g =
            sk_GENERAL_NAME_value(sk_DIST_POINT_value(dps, 0)->distpoint->name.fullname, 0);
        snprintf(buf, len, "%.*s", ASN1_STRING_length(g->d.uniformResourceIdentifier),
                 (const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier));
        sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
    }
    return buf;
}

/* A leaf under an intermediate under the lab root: the chain, its CDPs, the cache. */
static void test_intermediate_chain(void **state)
{
    struct fixture *f = *state;
    struct scn_ca issuing = ca_request("issuing", NULL);
    struct scn_cert req = request("mail", mail_names, 2);
    STACK_OF(X509) *chain = NULL;
    const char *base = "http://127.0.0.1:8080/pki/";
    char cdp[256];

    req.issuer = &issuing;
    open_pki(f, 0);
    assert_int_equal(
        pki_issue(f->p[0], "lab", &req, base, &f->x[0], &f->k[0], &chain, f->err, sizeof(f->err)),
        0);
    assert_int_equal(sk_X509_num(chain), 2);
    assert_int_equal(X509_check_ca(sk_X509_value(chain, 0)), 1);
    assert_int_equal(X509_cmp(sk_X509_value(chain, 1), pki_ca_cert(f->p[0])), 0);
    assert_int_equal(verify_chain(pki_ca_cert(f->p[0]), f->x[0], chain), X509_V_OK);
    assert_int_equal(verify(pki_ca_cert(f->p[0]), f->x[0]),
                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
    assert_string_equal(cdp_of(f->x[0], cdp, sizeof(cdp)), "http://127.0.0.1:8080/pki/issuing.crl");
    assert_string_equal(cdp_of(sk_X509_value(chain, 0), cdp, sizeof(cdp)),
                        "http://127.0.0.1:8080/pki/lab.crl");
    assert_int_equal(mode_of(f->dir, "pki/scenarios/lab/ca/issuing.key"), 0600);
    sk_X509_pop_free(chain, X509_free);
    chain = NULL;

    /* same request: from the cache */
    f->x[1] = f->x[0], f->k[1] = f->k[0], f->x[0] = NULL, f->k[0] = NULL;
    assert_int_equal(
        pki_issue(f->p[0], "lab", &req, base, &f->x[0], &f->k[0], NULL, f->err, sizeof(f->err)), 0);
    assert_true(same_serial(f->x[0], f->x[1]));
    X509_free(f->x[1]), EVP_PKEY_free(f->k[1]), f->x[1] = NULL, f->k[1] = NULL;

    /* the CRL listener moved (another port): re-issued, with the same key */
    assert_int_equal(pki_issue(f->p[0], "lab", &req, "http://127.0.0.1:9090/pki/", &f->x[1],
                               &f->k[1], NULL, f->err, sizeof(f->err)),
                     0);
    assert_false(same_serial(f->x[0], f->x[1]));
    assert_int_equal(EVP_PKEY_eq(f->k[0], f->k[1]), 1);

    /* the intermediate changes its digest: it is re-issued with its key, so the leaf below it
     * still chains and is kept */
    issuing.digest = "sha384";
    assert_int_equal(pki_issue(f->p[0], "lab", &req, "http://127.0.0.1:9090/pki/", &f->x[2],
                               &f->k[2], &chain, f->err, sizeof(f->err)),
                     0);
    assert_true(same_serial(f->x[1], f->x[2]));
    assert_int_equal(X509_get_signature_nid(sk_X509_value(chain, 0)), NID_ecdsa_with_SHA384);
    assert_int_equal(verify_chain(pki_ca_cert(f->p[0]), f->x[2], chain), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
    chain = NULL;

    /* its key changes: the leaf no longer chains and is re-issued under the new key */
    issuing.key = SCN_KEY_RSA, issuing.key_bits = 1024;
    assert_int_equal(pki_issue(f->p[0], "lab", &req, "http://127.0.0.1:9090/pki/", &f->x[3],
                               &f->k[3], &chain, f->err, sizeof(f->err)),
                     0);
    assert_false(same_serial(f->x[2], f->x[3]));
    assert_int_equal(verify_chain(pki_ca_cert(f->p[0]), f->x[3], chain), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);
}

/* issuer="self", for a leaf and for a root of its own; an expired intermediate. */
static void test_self_signed_and_other_roots(void **state)
{
    struct fixture *f = *state;
    struct scn_ca rogue = ca_request("rogue", NULL), old = ca_request("old", NULL);
    struct scn_cert req = request("mail", mail_names, 1);
    STACK_OF(X509) *chain = NULL;

    rogue.self_signed = 1;
    old.not_after = -DAY;
    open_pki(f, 0);
    req.self_signed = 1;
    assert_int_equal(pki_issue(f->p[0], "lab", &req, "http://x/pki/", &f->x[0], &f->k[0], &chain,
                               f->err, sizeof(f->err)),
                     0);
    assert_int_equal(sk_X509_num(chain), 0);
    assert_int_equal(X509_check_issued(f->x[0], f->x[0]), X509_V_OK);
    assert_null(X509_get_ext_d2i(f->x[0], NID_crl_distribution_points, NULL, NULL));
    assert_int_equal(verify(pki_ca_cert(f->p[0]), f->x[0]), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    sk_X509_pop_free(chain, X509_free);

    req = request("other", mail_names, 1);
    req.issuer = &rogue;
    assert_int_equal(
        pki_issue(f->p[0], "lab", &req, NULL, &f->x[1], &f->k[1], &chain, f->err, sizeof(f->err)),
        0);
    assert_int_equal(sk_X509_num(chain), 1);
    assert_int_equal(X509_check_issued(sk_X509_value(chain, 0), sk_X509_value(chain, 0)),
                     X509_V_OK);
    assert_int_equal(verify_chain(pki_ca_cert(f->p[0]), f->x[1], chain),
                     X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN);
    assert_int_equal(verify_chain(sk_X509_value(chain, 0), f->x[1], NULL), X509_V_OK);
    sk_X509_pop_free(chain, X509_free);

    req = request("under-old", mail_names, 1);
    req.issuer = &old;
    assert_int_equal(
        pki_issue(f->p[0], "lab", &req, NULL, &f->x[2], &f->k[2], &chain, f->err, sizeof(f->err)),
        0);
    assert_int_equal(verify_chain(pki_ca_cert(f->p[0]), f->x[2], chain),
                     X509_V_ERR_CERT_HAS_EXPIRED);
    sk_X509_pop_free(chain, X509_free);
}

/* The CRLs of a scenario: one per CA, the revoked serials in the right one, the bundle. */
static void test_crls_and_bundle(void **state)
{
    struct fixture *f = *state;
    const char *names[] = {"mail.contoso.com"};
    struct scn s = {.name = "lab"};
    struct scn_ca cas[2] = {ca_request("issuing", NULL), ca_request("rogue", NULL)};
    struct scn_cert certs[3] = {request("a", names, 1), request("b", names, 1),
                                request("c", names, 1)};
    const char *base = "http://127.0.0.1:1/pki/";
    struct pki_crls *crls;
    const unsigned char *der, *p;
    X509_CRL *crl;
    X509_REVOKED *rev = NULL;
    STACK_OF(X509) * bundle;
    size_t len;

    cas[1].self_signed = 1;
    certs[0].revoked = 1;                            /* a: lab, revoked */
    certs[1].issuer = &cas[0], certs[1].revoked = 1; /* b: issuing, revoked */
    certs[2].issuer = &cas[0];                       /* c: issuing, fine */
    s.cas = cas, s.num_cas = 2, s.certs = certs, s.num_certs = 3;
    open_pki(f, 0);
    crls = pki_crls_make(f->p[0], &s, base, f->err, sizeof(f->err));
    assert_non_null(crls);
    assert_non_null(pki_crls_find(crls, "ROGUE", 5, &len));
    assert_null(pki_crls_find(crls, "nope", 4, &len));

    assert_int_equal(pki_issue(f->p[0], "lab", &certs[0], base, &f->x[0], &f->k[0], NULL, f->err,
                               sizeof(f->err)),
                     0);
    assert_int_equal(pki_issue(f->p[0], "lab", &certs[1], base, &f->x[1], &f->k[1], NULL, f->err,
                               sizeof(f->err)),
                     0);
    der = pki_crls_find(crls, "lab", 3, &len);
    p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)len);
    assert_non_null(crl);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, f->x[0]), 1);
    assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(pki_ca_cert(f->p[0]))), 1);
    X509_CRL_free(crl);
    der = pki_crls_find(crls, "issuing", 7, &len);
    p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)len);
    assert_non_null(crl);
    assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
    assert_int_equal(X509_CRL_get0_by_cert(crl, &rev, f->x[1]), 1);
    X509_CRL_free(crl);
    assert_true(exists(f->dir, "pki/scenarios/lab/crl/lab.crl"));
    assert_true(exists(f->dir, "pki/scenarios/lab/crl/issuing.crl"));
    pki_crls_free(crls);

    bundle = pki_bundle(f->p[0], &s, base, f->err, sizeof(f->err));
    assert_non_null(bundle);
    assert_int_equal(sk_X509_num(bundle), 2); /* the lab root and issuing, not rogue */
    sk_X509_pop_free(bundle, X509_free);
}

static void test_concurrent_open(void **state)
{
    struct fixture *f = *state;
    unsigned char mine[EVP_MAX_MD_SIZE], theirs[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    int fds[2], status;
    pid_t pid;
    ssize_t n;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct pki *p = pki_open(f->dir, f->err, sizeof(f->err));
        unsigned l = 0;
        if (p != NULL && X509_digest(pki_ca_cert(p), EVP_sha256(), theirs, &l) == 1 &&
            write(fds[1], theirs, l) == (ssize_t)l)
            status = 0;
        else
            status = 1;
        pki_close(p);
        _exit(status);
    }
    close(fds[1]);
    f->p[0] = pki_open(f->dir, f->err, sizeof(f->err));
    n = read(fds[0], theirs, sizeof(theirs));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_non_null(f->p[0]);
    assert_int_equal(X509_digest(pki_ca_cert(f->p[0]), EVP_sha256(), mine, &len), 1);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(mine, theirs, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ca_created, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_replaced_when_unusable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_of_another_kind_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_ec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_rsa_then_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_issue_ec_sha1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates_drifted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_regenerated_reissues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_replaced_reissues, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scenario_name_sanitised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intermediate_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_self_signed_and_other_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crls_and_bundle, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
