/*
 * commands — the sub-commands of mrsmock, one file each (face layer); main.c dispatches.
 * Each takes its own argv (argv[0] the sub-command's name) and returns the exit status:
 * 0 success, 1 invalid input (scenario, arguments), 2 runtime failure.
 */
#ifndef MRSMOCK_COMMANDS_H
#define MRSMOCK_COMMANDS_H

#include <stddef.h>

#define EXIT_INVALID 1
#define EXIT_RUNTIME 2

struct scn_errors;

int run_main(int argc, char **argv);   /* run.c */
int certs_main(int argc, char **argv); /* certs.c */
int shell_main(int argc, char **argv); /* shell.c */
int probe_main(int argc, char **argv); /* probe.c, the main of mrsmock-probe */
/* Runs mrsmock-probe with ARGV (ARGV[0] "probe"), found beside this program (a build folder) or
 * in ../lib/mrsmock/ from it (installed, or unpacked anywhere); returns only when it cannot. */
int probe_exec(char **argv); /* commands.c */

/* The state folder when --state-dir is not given (README, "The state folder"); 0 or -1 when
 * the path does not fit. */
int cmd_default_state_dir(char *out, size_t len);
/* Prints the scenario errors in ERRS to standard error and frees them. */
void cmd_print_errors(struct scn_errors *errs);

#endif
