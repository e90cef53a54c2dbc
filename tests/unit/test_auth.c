/*
 * test_auth — logons as Windows resolves them (auth_logon): the three forms of a user name,
 * case rules, and refusals, against the bundled `healthy` scenario. The handshakes themselves
 * (Basic, NTLM, Negotiate on a connection) are exercised by real clients in
 * tests/integration/test_auth.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "scenario.h"

#define HEALTHY MRSMOCK_SRCDIR "/scenarios/healthy.xml"

static int setup(void **state)
{
    struct scn_errors e = {0};
    *state = scn_load(HEALTHY, &e);
    scn_errors_free(&e);
    return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    scn_unref(*state);
    return 0;
}

static const struct scn_account *logon(const struct scn *s, const char *user, const char *pw)
{
    return auth_logon(s, user, strlen(user), pw, strlen(pw));
}

static void test_forms_of_the_user_name(void **state)
{
    const struct scn *s = *state;
    const char *forms[] = {"admin",
                           "ADMIN",
                           "CONTOSO\\admin",
                           "contoso\\Admin",
                           "admin@contoso.com",
                           "Admin@CONTOSO.COM",
                           "contoso.com\\admin"};

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        const struct scn_account *a = logon(s, forms[i], "P@ssw0rd!");
        if (a == NULL)
            fail_msg("%s was refused", forms[i]);
        assert_string_equal(a->sam, "admin");
    }
    assert_string_equal(logon(s, "user1", "Passw0rd1")->sam, "user1");
}

static void test_refusals(void **state)
{
    const struct scn *s = *state;

    /* passwords are case-sensitive, user names are not */
    assert_null(logon(s, "admin", "p@ssw0rd!"));
    assert_null(logon(s, "admin", "P@ssw0rd"));
    assert_null(logon(s, "admin", "P@ssw0rd!!"));
    assert_null(logon(s, "admin", ""));
    /* another account's password */
    assert_null(logon(s, "admin", "Passw0rd1"));
    /* unknown users and domains */
    assert_null(logon(s, "nobody", "P@ssw0rd!"));
    assert_null(logon(s, "FABRIKAM\\admin", "P@ssw0rd!"));
    assert_null(logon(s, "admin@fabrikam.com", "P@ssw0rd!"));
    assert_null(logon(s, "", "P@ssw0rd!"));
    assert_null(logon(s, "\\", "P@ssw0rd!"));
    assert_null(logon(s, "CONTOSO\\", "P@ssw0rd!"));
}

static void test_names_with_nul_or_length_limits(void **state)
{
    const struct scn *s = *state;
    char user[] = "admin\0junk";

    /* the length given is what counts, not a NUL inside */
    assert_null(auth_logon(s, user, sizeof(user) - 1, "P@ssw0rd!", 9));
    assert_non_null(auth_logon(s, user, 5, "P@ssw0rd!", 9));
    /* a password with a NUL in it is not the password */
    assert_null(auth_logon(s, "admin", 5, "P@ssw0rd!\0", 10));
}

/* Passwords as long as the comparison's padding (SCN_PASSWORD_PAD) and longer, which are
 * compared as digests: each is its account's, and a byte more or less, or another byte, is not. */
static void test_long_passwords(void **state)
{
    size_t lens[] = {SCN_PASSWORD_PAD - 1, SCN_PASSWORD_PAD, SCN_PASSWORD_PAD + 1, 1000};
    char doc[4096], pw[1001];
    (void)state;

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct scn_errors e = {0};
        size_t n = lens[i];
        for (size_t k = 0; k < n; k++)
            pw[k] = (char)('a' + k % 26);
        pw[n] = '\0';
        int len = snprintf(doc, sizeof(doc),
                           "<scenario xmlns=\"urn:mrsmock:scenario:1\" name=\"long\" "
                           "extends=\"healthy\"><organization netbios=\"CONTOSO\">"
                           "<account sam=\"long\" password=\"%s\"/></organization></scenario>",
                           pw);
        struct scn *s = scn_load_mem("long.xml", doc, (size_t)len, &e);
        if (s == NULL)
            fail_msg("%s", e.text);
        assert_non_null(logon(s, "long", pw));
        assert_null(auth_logon(s, "long", 4, pw, n - 1));
        pw[n] = 'x';
        assert_null(auth_logon(s, "long", 4, pw, n + 1));
        pw[n - 1] ^= 1;
        assert_null(auth_logon(s, "long", 4, pw, n));
        /* and the other accounts' are still theirs */
        assert_non_null(logon(s, "admin", "P@ssw0rd!"));
        assert_null(auth_logon(s, "admin", 5, pw, n));
        scn_unref(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms_of_the_user_name),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_names_with_nul_or_length_limits),
        cmocka_unit_test(test_long_passwords),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
