/*
 * logfile_int — what logfile.c (the files of a log) and logfile_batch.c (each worker thread's
 * lines waiting for their write) share. Nothing else includes it.
 */
#ifndef MRSMOCK_LOGFILE_INT_H
#define MRSMOCK_LOGFILE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "logfile.h"

/* Worker threads that batch their lines (run's --threads allows as many). */
#define LOGF_THREADS 256

/* One period's file. Immutable once published, except for the count of a numbered file. */
struct logf_file {
    int fd;
    /* UTC period number: seconds since the epoch / period, rounded down; LOGF_SIZE: the file's
     * number */
    int64_t slot;
    _Atomic(uint64_t) fill;         /* LOGF_SIZE: bytes in the file or reserved by writers */
    uint64_t first;                 /* LOGF_SIZE: FILL of a new file after its header, where a line
                                       that fits no file goes all the same; UINT64_MAX: none */
    struct logf_file *next_retired; /* the retired list (under the mutex) */
    time_t retired_at;              /* when it was replaced, by the clock of the write */
    char path[];
};

/* One worker thread's lines for one log, not written yet: whole lines, in order. */
struct logf_batch {
    char *buf;
    size_t len, cap;
    int64_t slot; /* the period of the latest line, whose file the batch goes to */
    time_t now;   /* the time of the latest line */
    time_t tried; /* while the log cannot be written: the second of the last attempt */
};

struct logf {
    char *dir;
    char *pattern;
    int64_t period;                /* seconds: LOGF_DAILY or LOGF_HOURLY (unused by size) */
    uint64_t max_bytes;            /* LOGF_SIZE: a file's limit; 0: a log by period */
    char *old_suffix;              /* LOGF_SIZE with one file renamed when full; NULL: numbered */
    logf_header_cb header;         /* logf_open()'s kind of header, or NULL */
    logf_header_arg_cb header_arg; /* logf_open_spec()'s kind, or NULL */
    void *arg;                     /* our copy of the spec's arg */
    char *preamble;                /* NULL: none */
    _Atomic(struct logf_file *) cur;
    _Atomic(time_t) retry_at; /* no rollover attempt before this time after a failure */
    pthread_mutex_t lock;     /* held only to open and publish a new period's file */
    /*
     * Files replaced by a rollover, kept open for writers that loaded one just before. One is
     * closed at a later rollover only once it has been retired for LOGF_GRACE_SECS: an idle log
     * may roll twice in a moment (the hour of its last line, then now), and the period alone
     * would not protect a writer still holding the first. Usually one file, never many.
     */
    struct logf_file *retired;

    /* Writing: one writer at a time, so that a short write (a full disk) can be cut back to its
     * last whole line before anything else is appended. */
    pthread_mutex_t wlock;
    bool failing;            /* under wlock: the last write failed (reported once) */
    uint64_t lost;           /* under wlock: lines given up since it began failing */
    _Atomic(time_t) checked; /* the second the current file was last checked for removal */
    bool batched;            /* logf_set_batched() */

    struct logf_batch *batch[LOGF_THREADS]; /* each worker's own, made on its first line */
    struct logf *reg_next, **reg_prev;      /* the batching registry (logfile_batch.c) */
};

/* logfile.c: the period of time T. */
int64_t logf_slot(const struct logf *l, time_t t);
/* logfile.c: writes the whole lines BUF holds (LEN bytes) to the file of SLOT (rolling over
 * first if that is a new period), at the time NOW. Returns how many bytes went in: LEN, or
 * less when the file cannot take them all (a full disk): then only whole lines are left in the
 * file and the rest is the caller's, to hold or to give up (logf_lost()). */
size_t logf_emit(struct logf *l, const char *buf, size_t len, int64_t slot, time_t now);
/* logfile.c: counts LINES given up, reported when writing works again. */
void logf_lost(struct logf *l, uint64_t lines);

/* logfile_batch.c: takes LINE into the calling thread's batch for L: 0; -1 when the thread
 * does not batch (not a worker), and the caller writes the line itself. */
int logf_batch_add(struct logf *l, const char *line, size_t len, int64_t slot, time_t now);
/* logfile_batch.c: L is open: worker threads may batch for it / L is closing: what its batches
 * hold is written and they are freed. */
void logf_batch_register(struct logf *l);
void logf_batch_unregister(struct logf *l);

#endif
