/*
 * logfile_batch — each worker thread's log lines, gathered and written once per turn of its
 * event loop instead of one write(2) per line.
 *
 * A worker (logf_thread_begin()) puts its lines into a batch of its own in each log: no lock,
 * no shared cache line. After each turn of its loop it calls logf_thread_flush(), which writes
 * every batch it filled in one write each; so a line is in its file a few microseconds after
 * its request ended, and under load one write carries the lines of many requests (IIS buffers
 * its log the same way, with a longer delay). A batch is also written when it is full, when
 * its lines change period (midnight, the hour), when the worker ends and when the log closes.
 *
 * The logs a worker may have batched for are found in a registry. A log is closed when the last
 * generation using it goes, perhaps by another thread while a worker still holds lines for it:
 * the close takes the registry's lock for writing, so it waits for a flush in progress, and
 * writes what every batch holds before the log goes. Flushes take it for reading, and run side
 * by side.
 *
 * When a file cannot be written (a full disk), its batch keeps the lines and tries again at
 * most once a second, up to BATCH_HOLD bytes; beyond that the oldest lines are given up and
 * counted, and the count is reported when writing works again.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "logfile.h"
#include "logfile_int.h"

/* A batch this full is written at once. */
#define BATCH_FLUSH (64 * 1024)
/* The most a batch holds while its file cannot be written. */
#define BATCH_HOLD (1024 * 1024)

static _Thread_local int self = -1; /* the worker's index; -1: not a batching thread */
static _Thread_local bool dirty;    /* a batch of this thread may hold lines */
static _Thread_local bool fresh;    /* ... that have not been tried yet */

static pthread_rwlock_t reg_lock;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
static struct logf *registry;

static void reg_init(void)
{
    pthread_rwlockattr_t a;

    /* glibc's default lets readers starve a writer: two busy workers flushing in turn could
     * hold a closing log (a reload) back for ever */
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&reg_lock, &a);
    pthread_rwlockattr_destroy(&a);
}

void logf_batch_register(struct logf *l)
{
    pthread_once(&reg_once, reg_init);
    pthread_rwlock_wrlock(&reg_lock);
    l->reg_next = registry;
    l->reg_prev = &registry;
    if (registry != NULL)
        registry->reg_prev = &l->reg_next;
    registry = l;
    pthread_rwlock_unlock(&reg_lock);
}

/* Writes what B holds for L; keeps what the file could not take. */
static void flush_one(struct logf *l, struct logf_batch *b)
{
    size_t n;

    if (b->tried != 0) {
        /* the last attempt failed: once a second, not once per turn of the loop */
        time_t t = time(NULL);
        if (t == b->tried)
            return;
        b->tried = t;
    }
    n = logf_emit(l, b->buf, b->len, b->slot, b->now);
    if (n < b->len) {
        memmove(b->buf, b->buf + n, b->len - n);
        if (b->tried == 0)
            b->tried = time(NULL);
    } else {
        b->tried = 0;
    }
    b->len -= n;
    /* memory back after a spike or a long failure */
    if (b->len == 0 && b->cap > BATCH_FLUSH) {
        free(b->buf);
        b->buf = NULL;
        b->cap = 0;
    }
}

/* Gives up the oldest whole lines of B until NEED more bytes fit under BATCH_HOLD. */
static void drop_oldest(struct logf *l, struct logf_batch *b, size_t need)
{
    size_t cut = 0;
    uint64_t lines = 0;

    while (cut < b->len && b->len - cut + need > BATCH_HOLD) {
        const char *nl = memchr(b->buf + cut, '\n', b->len - cut);
        cut = nl == NULL ? b->len : (size_t)(nl - b->buf) + 1;
        lines++;
    }
    memmove(b->buf, b->buf + cut, b->len - cut);
    b->len -= cut;
    logf_lost(l, lines);
}

int logf_batch_add(struct logf *l, const char *line, size_t len, int64_t slot, time_t now)
{
    struct logf_batch *b;

    if (self < 0 || len > BATCH_FLUSH)
        return -1;
    if ((b = l->batch[self]) == NULL) {
        if ((b = calloc(1, sizeof(*b))) == NULL)
            fatalx("out of memory");
        l->batch[self] = b;
    }
    /* lines of a new period go to its file: the batch so far is written first */
    if (b->len != 0 && (slot != b->slot || b->len + len > BATCH_FLUSH))
        flush_one(l, b);
    if (b->len + len > BATCH_HOLD)
        drop_oldest(l, b, len);
    if (b->len + len > b->cap) {
        size_t cap = b->cap == 0 ? 4096 : b->cap;
        while (cap < b->len + len)
            cap *= 2;
        if ((b->buf = realloc(b->buf, cap)) == NULL)
            fatalx("out of memory");
        b->cap = cap;
    }
    memcpy(b->buf + b->len, line, len);
    b->len += len;
    b->slot = slot;
    b->now = now;
    dirty = fresh = true;
    return 0;
}

void logf_batch_unregister(struct logf *l)
{
    pthread_once(&reg_once, reg_init);
    pthread_rwlock_wrlock(&reg_lock);
    *l->reg_prev = l->reg_next;
    if (l->reg_next != NULL)
        l->reg_next->reg_prev = l->reg_prev;
    pthread_rwlock_unlock(&reg_lock);
    /* no worker can reach L any more: its batches are ours */
    for (size_t i = 0; i < LOGF_THREADS; i++) {
        struct logf_batch *b = l->batch[i];
        if (b == NULL)
            continue;
        if (b->len != 0) {
            size_t n = logf_emit(l, b->buf, b->len, b->slot, b->now);
            if (n < b->len) {
                uint64_t lines = 0;
                for (size_t k = n; k < b->len; k++)
                    lines += b->buf[k] == '\n';
                logf_lost(l, lines);
            }
        }
        free(b->buf);
        free(b);
        l->batch[i] = NULL;
    }
}

void logf_thread_begin(unsigned index)
{
    self = index < LOGF_THREADS ? (int)index : -1;
}

void logf_thread_flush(void)
{
    if (!dirty)
        return;
    dirty = fresh = false;
    pthread_rwlock_rdlock(&reg_lock);
    for (struct logf *l = registry; l != NULL; l = l->reg_next) {
        struct logf_batch *b = l->batch[self];
        if (b != NULL && b->len != 0) {
            flush_one(l, b);
            if (b->len != 0)
                dirty = true; /* held: tried again later */
        }
    }
    pthread_rwlock_unlock(&reg_lock);
}

int logf_thread_wait_ms(void)
{
    return fresh ? 1 : dirty ? 1000 : -1;
}

void logf_thread_end(void)
{
    logf_thread_flush();
    self = -1;
}
