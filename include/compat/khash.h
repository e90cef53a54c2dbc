/*
 * khash.h (compat) — the few declarations of klib's khash API that h2o/http2_internal.h names.
 *
 * Debian's libh2o-evloop-dev ships h2o/http2_internal.h, which flow.c needs to reset an HTTP/2
 * stream with HTTP_1_1_REQUIRED (DESIGN.md, decisions), but not the khash.h it includes.
 * mrsmock never touches h2o's stream table: the connection only holds a pointer to it, so its
 * layout does not matter to us, and the one inline function of http2_internal.h that would use
 * it (h2o_http2_conn_get_stream) is never called, hence never emitted.
 */
#ifndef MRSMOCK_COMPAT_KHASH_H
#define MRSMOCK_COMPAT_KHASH_H

#include <stdint.h>

typedef uint32_t khint_t;
typedef khint_t khiter_t;

#define khash_t(name) kh_##name##_t

#define KHASH_MAP_INIT_INT64(name, khval_t)                                                        \
    typedef struct kh_##name##_s {                                                                 \
        khint_t n_buckets, size, n_occupied, upper_bound;                                          \
        uint32_t *flags;                                                                           \
        uint64_t *keys;                                                                            \
        khval_t *vals;                                                                             \
    } kh_##name##_t;                                                                               \
    khint_t kh_get_##name(const kh_##name##_t *h, uint64_t key);

#define kh_get(name, h, k) kh_get_##name(h, k)
#define kh_end(h) ((h)->n_buckets)
#define kh_val(h, x) ((h)->vals[x])

#endif
