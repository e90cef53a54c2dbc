/*
 * flow_cache — the answers an endpoint keeps (flow.h): per worker thread, the last SLOTS, each
 * its key's parts and copies of the request's body and of the answer. Written and read by the
 * one thread that owns them, so nothing is locked; freed when the thread ends.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "gen.h"
#include "log.h"

#define SLOTS 8
#define ASKED_MAX (16 * 1024)
#define ANSWER_MAX (64 * 1024)
#define WHY_MAX 256

struct kept {
    uint64_t gen; /* 0: empty */
    const struct flow_route *route;
    const struct scn_server *server;
    const struct scn_account *caller;
    size_t listener;
    uintptr_t word;
    char *asked; /* the request's body */
    size_t asked_len;
    struct iis_status st;
    const char *content_type;
    char *body;
    size_t body_len;
    char why[WHY_MAX];
};

struct cache {
    struct kept slot[SLOTS];
    size_t next; /* replaced next: the oldest */
};

static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void cache_free(void *p)
{
    struct cache *c = p;
    for (size_t i = 0; i < SLOTS; i++) {
        free(c->slot[i].asked);
        free(c->slot[i].body);
    }
    free(c);
}

static void make_key(void)
{
    if (pthread_key_create(&key, cache_free) != 0)
        fatalx("cannot make the answer cache's thread key");
}

static struct cache *mine(int make)
{
    struct cache *c;

    pthread_once(&once, make_key);
    if ((c = pthread_getspecific(key)) == NULL && make) {
        if ((c = calloc(1, sizeof(*c))) == NULL)
            fatalx("out of memory");
        pthread_setspecific(key, c);
    }
    return c;
}

static int same(const struct kept *k, const struct flow *f, uintptr_t word)
{
    h2o_iovec_t b = f->req->entity;
    return k->gen == f->gen->serial && k->route == f->route && k->server == f->server &&
           k->caller == f->account && k->listener == f->listener_index && k->word == word &&
           k->asked_len == b.len && (b.len == 0 || memcmp(k->asked, b.base, b.len) == 0);
}

int flow_cache_answer(struct flow *f, const char *stage, uintptr_t word)
{
    struct cache *c = mine(0);

    for (size_t i = 0; c != NULL && i < SLOTS; i++) {
        const struct kept *k = &c->slot[i];
        if (k->gen == 0 || !same(k, f, word))
            continue;
        flow_why(f, stage, "%s", k->why);
        return flow_answer(f, &(struct flow_answer){.by = FLOW_BY_BACKEND,
                                                    .st = k->st,
                                                    .content_type = k->content_type,
                                                    .body = h2o_iovec_init(k->body, k->body_len)});
    }
    return -1;
}

void flow_cache_keep(struct flow *f, uintptr_t word, const struct flow_answer *a, const char *why)
{
    h2o_iovec_t b = f->req->entity;
    struct cache *c;
    struct kept *k;

    if (b.len > ASKED_MAX || a->body.len > ANSWER_MAX || a->iis_page || a->reason != NULL)
        return;
    c = mine(1);
    k = &c->slot[c->next];
    c->next = (c->next + 1) % SLOTS;
    free(k->asked);
    free(k->body);
    *k = (struct kept){.gen = f->gen->serial,
                       .route = f->route,
                       .server = f->server,
                       .caller = f->account,
                       .listener = f->listener_index,
                       .word = word,
                       .asked_len = b.len,
                       .st = a->st,
                       .content_type = a->content_type,
                       .body_len = a->body.len};
    if ((k->asked = malloc(b.len + 1)) == NULL || (k->body = malloc(a->body.len + 1)) == NULL)
        fatalx("out of memory");
    if (b.len != 0)
        memcpy(k->asked, b.base, b.len);
    if (a->body.len != 0)
        memcpy(k->body, a->body.base, a->body.len);
    snprintf(k->why, sizeof(k->why), "%s", why);
}
