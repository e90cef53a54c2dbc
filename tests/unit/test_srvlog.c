/*
 * Unit tests for srvlog: a server's log files are opened once and shared by the generations
 * that use them, a changed build opens HttpProxy files of its own, Exchange 2010 has none, the
 * HTTPERR log is opened at its first use, and a folder that cannot be made is a clear error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "srvlog.h"

static struct scn_server server(const char *name, enum scn_version v, unsigned rev)
{
    return (struct scn_server){.name = name, .version = v, .build = {15, 1, 2507, rev}};
}

static void rm_rf(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_shared_and_per_build(void **state)
{
    char dir[] = "/tmp/test_srvlog.XXXXXX", err[512];
    struct scn_server a = server("EX1", SCN_V2016, 6), b = server("EX1", SCN_V2016, 9);
    (void)state;

    assert_non_null(mkdtemp(dir));
    struct srvlog *l1 = srvlog_open(dir, &a, err, sizeof(err));
    struct srvlog *l2 = srvlog_open(dir, &a, err, sizeof(err)); /* a reload: same files */
    struct srvlog *l3 = srvlog_open(dir, &b, err, sizeof(err)); /* a new build */
    assert_non_null(l1);
    assert_non_null(l2);
    assert_non_null(l3);
    assert_ptr_equal(l1->w3c, l2->w3c);
    assert_ptr_equal(l1->hplog[HPLOG_EWS], l2->hplog[HPLOG_EWS]);
    assert_ptr_equal(l1->w3c, l3->w3c); /* IIS's log does not care about the build */
    assert_ptr_not_equal(l1->hplog[HPLOG_EWS], l3->hplog[HPLOG_EWS]);
    srvlog_close(l1);
    /* l2 still writes to the file l1 had: it is open */
    logf_write(l2->w3c, "x\r\n", 3, time(NULL));
    srvlog_close(l2);
    srvlog_close(l3);
    rm_rf(dir);
}

static void test_2010_and_httperr(void **state)
{
    char dir[] = "/tmp/test_srvlog.XXXXXX", err[512], path[1024];
    struct scn_server old = server("CAS1", SCN_V2010, 0);
    struct stat st;
    (void)state;

    assert_non_null(mkdtemp(dir));
    struct srvlog *l = srvlog_open(dir, &old, err, sizeof(err));
    assert_non_null(l);
    assert_null(l->hplog[HPLOG_EWS]); /* no front end, no HttpProxy log */
    assert_null(l->hplog[HPLOG_AUTODISCOVER]);
    snprintf(path, sizeof(path), "%s/CAS1/Windows/System32/LogFiles/HTTPERR", dir);
    assert_int_not_equal(stat(path, &st), 0); /* not before its first line */
    struct logf *h = srvlog_httperr(l);
    assert_non_null(h);
    assert_ptr_equal(srvlog_httperr(l), h);
    assert_int_equal(stat(path, &st), 0);
    srvlog_close(l);
    rm_rf(dir);
}

static void test_unwritable(void **state)
{
    char err[512] = "";
    struct scn_server a = server("EX1", SCN_V2016, 6);
    (void)state;

    /* a path below a regular file can never be a folder, even for root */
    assert_null(srvlog_open("/etc/hostname/logs", &a, err, sizeof(err)));
    assert_non_null(strstr(err, "/etc/hostname/logs"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_and_per_build),
        cmocka_unit_test(test_2010_and_httperr),
        cmocka_unit_test(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
