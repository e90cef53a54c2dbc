/*
 * commands — what the sub-commands share.
 */
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
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
