/*
 * lab — the running lab: the scenario being served, with the run options applied; its sockets,
 * its generation and its workers. One path switches it to another scenario (or the same file
 * again): SIGHUP's reload and the admin API's scenario switch both take it.
 *
 * A switch is atomic: the new scenario is loaded, bound and built into a generation before any
 * worker sees it; requests in flight finish on the old one; listeners that stay keep their
 * sockets and ports. If anything fails, the running scenario is kept. Called from one thread
 * (the main thread) at a time.
 */
#ifndef MRSMOCK_LAB_H
#define MRSMOCK_LAB_H

#include <limits.h>
#include <stddef.h>
#include <time.h>

struct gen;
struct pki;
struct scn;

/* A --listen option: NAME=ADDR:PORT moves one listener, ADDR:PORT all of them. */
struct lab_listen {
    const char *name; /* NULL: every listener */
    char host[64];
    unsigned port;
};

struct lab_opts {
    char path[PATH_MAX];         /* the scenario file */
    char state_dir[PATH_MAX];    /* lab CA, certificates, logs */
    char logs_dir[PATH_MAX + 8]; /* <state_dir>/logs */
    const struct lab_listen *listen;
    size_t num_listen;
    unsigned threads;
};

/* Results, as the exit statuses of DESIGN's contract. */
enum lab_result {
    LAB_OK = 0,
    LAB_INVALID = 1, /* the scenario or an option is invalid */
    LAB_RUNTIME = 2, /* a port in use, a folder not writable */
};

/* Starts serving the scenario of O (copied). On failure, *ERRORS (malloc'ed; the caller frees
 * it) holds the cause: a scenario's errors as "file:line: message" lines, else one line. */
enum lab_result lab_start(const struct lab_opts *o, char **errors);
/* Switches to the scenario file PATH (NULL: the running one's file again), with the run
 * options applied. On failure, as lab_start; the running scenario is kept. */
enum lab_result lab_switch(const char *path, char **errors);
/* The same for S, already loaded (the caller's reference is taken, whatever the result), which
 * a reload (SIGHUP) reads again from the file PATH. */
enum lab_result lab_switch_loaded(struct scn *s, const char *path, char **errors);
/* Builds the running scenario's generation anew and serves it: handshake-fault schedules and
 * the stages' own state (NTLM handshakes, WS-RM sessions) back to their start. */
enum lab_result lab_reset(char **errors);
/* The generation being served with a reference the caller drops (gen_unref), the file it was
 * loaded from (copied into PATH) and when; any thread. */
struct gen *lab_acquire(char *path, size_t pathlen, time_t *loaded_at);
/* The lab's PKI (the CA clients trust). */
struct pki *lab_pki(void);
/* The order listeners are moved in by --listen ADDR:PORT and reported in the ready line: TLS
 * listeners first, then plain ones. Writes S's listener indexes into ORDER; returns how many. */
size_t lab_listener_order(const struct scn *s, size_t *order);
/* Stops accepting, finishes the requests in flight (up to DRAIN_MS), frees everything. Safe
 * when nothing started. */
void lab_stop(unsigned drain_ms);

#endif
