/*
 * main — the sub-commands' dispatch, and the two small ones, check and list. Only wiring: each
 * other sub-command has its file (commands.h), the work is in modules.
 *
 * Exit statuses: 0 success, 1 invalid input (scenario, arguments), 2 runtime failure.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "commands.h"
#include "log.h"
#include "scenario.h"

static void usage_main(FILE *out)
{
    fprintf(out,
            "usage: mrsmock run SCENARIO [options]   serve a scenario (see mrsmock run --help)\n"
            "       mrsmock check FILE...            validate scenario files\n"
            "       mrsmock list                     list the bundled scenarios\n"
            "       mrsmock certs [SCENARIO] [options] print or export the lab CA (see --help)\n"
            "       mrsmock shell SCENARIO [CMDLET [ARG]] [--server NAME]\n"
            "                                        the servers' virtual directories as the\n"
            "                                        Exchange Management Shell shows them\n"
            "       mrsmock probe (--server HOST | --autodiscover --email ADDRESS) --user "
            "DOMAIN\\name\n"
            "                                        test a migration endpoint step by step\n"
            "                                        (see mrsmock probe --help)\n"
            "       mrsmock --help | --version\n");
}

static int cmd_check(int argc, char **argv)
{
    int rc = 0;
    char path[PATH_MAX];

    if (argc < 2) {
        log_warnx("check: name at least one scenario file");
        return EXIT_INVALID;
    }
    for (int i = 1; i < argc; i++) {
        struct scn_errors errs = {0};
        struct scn *s;
        if (scn_resolve(argv[i], path, sizeof(path)) != 0) {
            fprintf(stderr, "%s: cannot open: No such file or directory\n", argv[i]);
            rc = EXIT_INVALID;
            continue;
        }
        if ((s = scn_load(path, &errs)) == NULL) {
            cmd_print_errors(&errs);
            rc = EXIT_INVALID;
            continue;
        }
        scn_errors_free(&errs);
        printf("%s: ok (scenario \"%s\")\n", path, s->name);
        scn_unref(s);
    }
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int is_xml(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 4 && strcmp(d->d_name + n - 4, ".xml") == 0;
}

static int cmd_list(void)
{
    const char *dir = scn_bundled_dir();
    struct dirent **ents;
    int n = scandir(dir, &ents, is_xml, by_name), rc = 0;
    char path[PATH_MAX];

    if (n < 0) {
        log_warn("cannot read %s", dir);
        return EXIT_RUNTIME;
    }
    for (int i = 0; i < n; i++) {
        struct scn_errors errs = {0};
        struct scn *s;
        snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
        if ((s = scn_load(path, &errs)) == NULL) {
            cmd_print_errors(&errs);
            rc = EXIT_INVALID;
        } else {
            scn_errors_free(&errs);
            printf("%-28s %s\n", s->name, s->summary);
            scn_unref(s);
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_INVALID;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("mrsmock %s\n", MRSMOCK_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return run_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (strcmp(argv[1], "list") == 0)
        return cmd_list();
    if (strcmp(argv[1], "shell") == 0)
        return shell_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "probe") == 0)
        return probe_exec(argv + 1);
    if (strcmp(argv[1], "certs") == 0) {
        int rc;
        xmlInitParser();
        rc = certs_main(argc - 1, argv + 1);
        scn_cleanup();
        xmlCleanupParser();
        return rc;
    }
    log_warnx("unknown command \"%s\"", argv[1]);
    usage_main(stderr);
    return EXIT_INVALID;
}
