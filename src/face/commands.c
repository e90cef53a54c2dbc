/*
 * commands — what the sub-commands share.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "util.h"
#include "scenario.h"

void cmd_print_errors(struct scn_errors *errs)
{
    if (errs->text != NULL)
        fputs(errs->text, stderr);
    scn_errors_free(errs);
}

int cmd_default_state_dir(char *out, size_t len)
{
    const char *e;
    if ((e = getenv("MRSMOCK_STATE_DIR")) != NULL && *e != '\0')
        return snprintf(out, len, "%s", e) < (int)len ? 0 : -1;
    if ((e = getenv("XDG_STATE_HOME")) != NULL && *e != '\0')
        return snprintf(out, len, "%s/mrsmock", e) < (int)len ? 0 : -1;
    if ((e = getenv("HOME")) != NULL && *e != '\0')
        return snprintf(out, len, "%s/.local/state/mrsmock", e) < (int)len ? 0 : -1;
    return snprintf(out, len, "./mrsmock-state") < (int)len ? 0 : -1;
}

int probe_exec(char **argv)
{
    static const char *const beside[] = {"/mrsmock-probe", "/../lib/mrsmock/mrsmock-probe"};
    char self[PATH_MAX], path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash;

    if (n <= 0 || (self[n] = '\0', slash = strrchr(self, '/')) == NULL) {
        log_warn("probe: where this program is (/proc/self/exe)");
        return EXIT_RUNTIME;
    }
    *slash = '\0';
    for (size_t i = 0; i < COUNTOF(beside); i++) {
        snprintf(path, sizeof(path), "%s%s", self, beside[i]);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            log_warn("probe: cannot run %s", path);
            return EXIT_RUNTIME;
        }
    }
    log_warnx("probe: mrsmock-probe is neither in %s nor in %s/../lib/mrsmock (%s)", self, self,
              strerror(ENOENT));
    return EXIT_RUNTIME;
}
