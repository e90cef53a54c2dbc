/*
 * scenario_xml — reading scenario files: safe parsing with libxml2, the RelaxNG schema built
 * into the binary, a walk over the elements driven by one table per element (scenario_schema.c),
 * and `extends`.
 *
 * Each file is checked on its own, twice: by the walk (unknown elements and attributes, bad
 * values, duplicates, with our own messages) and by the schema, whose messages are kept only when
 * the walk found nothing wrong in that file, so that one problem is not reported twice. The walk
 * applies the file to the draft as it goes, base files first, so that an overlay changes only
 * the attributes it writes. The merged draft then goes to scn_build() (scenario.c).
 *
 * libxml2 never reaches standard error from here: its messages go to our handlers, installed for
 * the duration of scn_load() on the calling thread and restored afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <h2o/memory.h>
#include <h2o/string_.h>
#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>

#include "log.h"
#include "scenario_int.h"
#include "util.h"

/* scenarios/scenario.rng, NUL-terminated: built in, so that no lookup at run time can fail. */
__asm__(".section .rodata\n"
        ".global scn_schema_rng\n"
        "scn_schema_rng:\n"
        ".incbin \"scenarios/scenario.rng\"\n"
        ".byte 0\n"
        ".global scn_schema_rng_end\n"
        "scn_schema_rng_end:\n"
        ".previous\n");
extern const char scn_schema_rng[];

#define AT(base, off) ((void *)((char *)(base) + (off)))

/* Attribute tables, one per element, indexed by the SCN_A_* constants of scenario_int.h. */
/* One scn_load() call. */
struct load {
    struct scn *s;
    struct scn_errors *errs;
    h2o_mem_pool_t tmp; /* the draft objects */
    struct scn_draft d;
    xmlRelaxNGPtr schema;
    const char *file; /* the file being read, as given or resolved (in s->pool) */
    const char *mem;  /* scn_load_mem(): the named document's bytes, read instead of a file */
    size_t mem_len;
    unsigned gen; /* files applied so far */
    int broken;   /* a file could not be used at all: no semantic checks on the rest */
    size_t depth; /* files in the extends chain being read */
    const char *chain[SCN_MAX_CHAIN], *real[SCN_MAX_CHAIN];
    /* libxml2 messages for the file being read */
    enum { PHASE_PARSE, PHASE_SCHEMA } phase;
    char parse_msg[512];
    unsigned parse_line, doctype_line, root_line;
    struct scn_errors schema_errs;
};

/* One problem, at LINE of the file being read. */
static void __attribute__((format(printf, 3, 4)))
report(struct load *ld, unsigned line, const char *fmt, ...)
{
    struct scn_where at = {ld->file, line};
    va_list ap;

    va_start(ap, fmt);
    scn_verror(ld->errs, &at, fmt, ap);
    va_end(ap);
}

static void on_xml_error(void *ctx, xmlErrorPtr e)
{
    struct load *ld = ctx;
    char msg[512];
    size_t len;

    if (e == NULL || e->level < XML_ERR_ERROR)
        return; /* warnings change nothing */
    snprintf(msg, sizeof(msg), "%s", e->message != NULL ? e->message : "error");
    for (len = strlen(msg); len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '); len--)
        msg[len - 1] = '\0';
    for (char *p = msg; (p = strchr(p, '\n')) != NULL;)
        *p = ' '; /* one line per problem */
    if (ld->phase == PHASE_PARSE) {
        /* the first error is the one to fix; the next ones are its consequences */
        if (ld->parse_msg[0] == '\0') {
            memcpy(ld->parse_msg, msg, len + 1);
            ld->parse_line = e->line > 0 ? (unsigned)e->line : 0;
        }
    } else {
        struct scn_where at = {ld->file, e->line > 0 ? (unsigned)e->line : 0};
        if (e->node != NULL && ((xmlNode *)e->node)->type == XML_ELEMENT_NODE)
            at.line = scn_line_of(e->node); /* where the element begins */
        if (at.line == 0)
            at.line = ld->root_line;
        scn_error(&ld->schema_errs, &at, "schema: %s", msg);
    }
}

static void on_xml_generic(void *ctx, const char *fmt, ...)
{
    /* only reached by libxml2 paths without a structured error; they are not ours */
    UNUSED(ctx);
    UNUSED(fmt);
}

/* Stops the parser at <!DOCTYPE: nothing it declares can then be expanded. */
static void on_doctype(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    xmlParserCtxtPtr p = ctx;
    struct load *ld = p->_private;

    UNUSED(name), UNUSED(ext), UNUSED(sys);
    ld->doctype_line = p->input != NULL && p->input->line > 0 ? (unsigned)p->input->line : 1;
    xmlStopParser(p);
}

/* The whole file in memory, NUL-terminated, at most SCN_MAX_FILE bytes; NULL (reported) when
 * it cannot be read or is larger. */
static char *read_file(struct load *ld, size_t *lenp)
{
    int fd;
    size_t len = 0, cap = 0;
    char *buf = NULL;
    struct stat st;
    ssize_t r;

    if (ld->mem != NULL && ld->depth == 0) {
        if (ld->mem_len > SCN_MAX_FILE) {
            report(ld, 0, "file too large (the limit is %u bytes)", SCN_MAX_FILE);
            return NULL;
        }
        buf = memcpy(h2o_mem_alloc(ld->mem_len + 1), ld->mem, ld->mem_len);
        buf[ld->mem_len] = '\0'; /* scan_tags() relies on it */
        *lenp = ld->mem_len;
        return buf;
    }
    fd = open(ld->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        report(ld, 0, "cannot open: %s", strerror(errno));
        goto fail;
    }
    if (S_ISREG(st.st_mode) && st.st_size > (off_t)SCN_MAX_FILE)
        goto too_large;
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096;
    buf = h2o_mem_alloc(cap);
    for (;;) {
        if (len == cap) {
            if (cap > SCN_MAX_FILE)
                goto too_large; /* grew while we read it, or not a regular file */
            cap = cap * 2 > SCN_MAX_FILE + 1 ? SCN_MAX_FILE + 1 : cap * 2;
            buf = h2o_mem_realloc(buf, cap);
        }
        if ((r = read(fd, buf + len, cap - len)) < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            report(ld, 0, "cannot read: %s", strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    if (len > SCN_MAX_FILE)
        goto too_large;
    buf[len] = '\0'; /* len < cap here; scan_tags() relies on it */
    close(fd);
    *lenp = len;
    return buf;
too_large:
    report(ld, 0, "file too large (the limit is %u bytes)", SCN_MAX_FILE);
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Parses BUF without network, entities or DTD; NULL (reported) when it is not acceptable. */
static xmlDoc *parse(struct load *ld, const char *buf, size_t len)
{
    xmlParserCtxtPtr p;
    xmlDoc *doc;

    if (len > INT_MAX || (p = xmlNewParserCtxt()) == NULL)
        h2o_fatal("out of memory");
    p->_private = ld;
    p->sax->internalSubset = on_doctype;
    ld->phase = PHASE_PARSE;
    ld->parse_msg[0] = '\0';
    ld->parse_line = ld->doctype_line = 0;
    doc =
        xmlCtxtReadMemory(p, buf, (int)len, ld->file, NULL, XML_PARSE_NONET | XML_PARSE_BIG_LINES);
    if (ld->doctype_line != 0) {
        struct scn_where at = {ld->file, ld->doctype_line};
        scn_error(ld->errs, &at, "DOCTYPE is not allowed");
        xmlFreeDoc(doc);
        doc = NULL;
    } else if (doc == NULL || !p->wellFormed) {
        struct scn_where at = {ld->file, ld->parse_line};
        scn_error(ld->errs, &at, "not well-formed: %s",
                  ld->parse_msg[0] != '\0' ? ld->parse_msg : "cannot parse the document");
        xmlFreeDoc(doc);
        doc = NULL;
    }
    xmlFreeParserCtxt(p);
    return doc;
}

static int in_ns(const xmlNode *n)
{
    return n->ns != NULL && strcmp((const char *)n->ns->href, SCN_NS) == 0;
}

static void walk(struct load *ld, const struct scn_elem *e, void *parent, xmlNode *n);

/* The draft object of keyed element N: found by its key, or added; NULL (reported) if none. */
static void *keyed(struct load *ld, const struct scn_elem *e, void *parent, xmlNode *n)
{
    const struct scn_attr *ka = &e->attrs[e->key];
    struct scn_vec *vec = AT(parent, e->off);
    xmlAttr *attr = xmlHasNsProp(n, (const xmlChar *)ka->name, NULL);
    xmlChar *raw = attr != NULL ? xmlNodeListGetString(n->doc, attr->children, 1) : NULL;
    void *fresh;
    const char *key;
    char why[200];

    if (attr == NULL) {
        report(ld, scn_line_of(n), "missing required attribute \"%s\" on <%s>", ka->name, e->name);
        return NULL;
    }
    fresh = memset(h2o_mem_alloc_pool(&ld->tmp, e->size), 0, e->size);
    if (scn_parse_value(&ld->s->pool, ka, raw != NULL ? (const char *)raw : "", fresh, why,
                        sizeof(why)) != 0) {
        report(ld, scn_attr_line(n, attr), "bad value \"%s\" for %s: %s",
               raw != NULL ? (const char *)raw : "", ka->name, why);
        xmlFree(raw);
        return NULL;
    }
    xmlFree(raw);
    key = *(const char **)AT(fresh, ka->off);
    for (size_t i = 0; i < vec->size; i++) {
        struct scn_mark *m = vec->entries[i];
        if (strcasecmp(*(const char **)AT(m, ka->off), key) != 0)
            continue;
        if (m->gen == ld->gen) {
            report(ld, scn_line_of(n), "duplicate %s \"%s\" (first defined at %s:%u)", e->name, key,
                   m->at.file, m->at.line);
            return NULL;
        }
        return m; /* an overlay: only what this element writes changes */
    }
    h2o_vector_reserve(&ld->tmp, vec, vec->size + 1);
    vec->entries[vec->size++] = fresh;
    return fresh;
}

/* Child element C of element E (whose draft object is OBJ). */
static void child(struct load *ld, const struct scn_elem *e, void *obj, xmlNode *c)
{
    const char *prefix = c->ns != NULL && c->ns->prefix != NULL ? (const char *)c->ns->prefix : "";

    for (size_t i = 0; in_ns(c) && e->children != NULL && e->children[i] != NULL; i++)
        if (strcmp((const char *)c->name, e->children[i]->name) == 0) {
            walk(ld, e->children[i], obj, c);
            return;
        }
    for (size_t p = 0; in_ns(c) && scn_parents[p] != NULL; p++)
        for (size_t i = 0; scn_parents[p]->children[i] != NULL; i++)
            if (strcmp((const char *)c->name, scn_parents[p]->children[i]->name) == 0) {
                report(ld, scn_line_of(c), "<%s> is not allowed in <%s> (it belongs in <%s>)",
                       c->name, e->name, scn_parents[p]->name);
                return;
            }
    report(ld, scn_line_of(c), "unknown element <%s%s%s> in <%s>", prefix, *prefix ? ":" : "",
           c->name, e->name);
}

/* Applies element N (an E) to the draft: its attributes, its text, its children. */
static void walk(struct load *ld, const struct scn_elem *e, void *parent, xmlNode *n)
{
    unsigned seen = 0;
    int text_reported = 0;
    struct scn_mark *m;
    void *obj = parent;
    char why[200];

    if (e->key >= 0) {
        if ((obj = keyed(ld, e, parent, n)) == NULL)
            return;
        m = obj;
    } else if ((m = AT(parent, e->off))->gen == ld->gen) {
        report(ld, scn_line_of(n), "duplicate <%s> (first at %s:%u)", e->name, m->at.file,
               m->at.line);
        return;
    }
    m->gen = ld->gen;
    m->at = (struct scn_where){ld->file, scn_line_of(n)};

    for (xmlAttr *a = n->properties; a != NULL; a = a->next) {
        const struct scn_attr *row = NULL;
        xmlChar *v;
        size_t i;
        for (i = 0; a->ns == NULL && i < e->num_attrs && row == NULL; i++)
            if (strcmp((const char *)a->name, e->attrs[i].name) == 0)
                row = &e->attrs[i];
        if (row == NULL) {
            const char *prefix =
                a->ns != NULL && a->ns->prefix != NULL ? (const char *)a->ns->prefix : "";
            report(ld, scn_attr_line(n, a), "unknown attribute \"%s%s%s\" on <%s>", prefix,
                   *prefix ? ":" : "", a->name, e->name);
            continue;
        }
        i = (size_t)(row - e->attrs);
        seen |= 1u << i;
        m->attr[i] = (struct scn_where){ld->file, scn_attr_line(n, a)};
        if ((int)i == e->key)
            continue; /* applied by keyed() */
        v = xmlNodeListGetString(n->doc, a->children, 1);
        m->bad[i] = scn_parse_value(&ld->s->pool, row, v != NULL ? (const char *)v : "", obj, why,
                                    sizeof(why)) != 0;
        if (m->bad[i])
            report(ld, scn_attr_line(n, a), "bad value \"%s\" for %s: %s",
                   v != NULL ? (const char *)v : "", row->name, why);
        xmlFree(v);
    }
    for (size_t i = 0; i < e->num_attrs; i++)
        if ((e->attrs[i].flags & SCN_F_REQUIRED) != 0 && (seen & (1u << i)) == 0 &&
            (int)i != e->key)
            report(ld, scn_line_of(n), "missing required attribute \"%s\" on <%s>",
                   e->attrs[i].name, e->name);

    for (xmlNode *c = n->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE) {
            child(ld, e, obj, c);
        } else if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && !e->text &&
                   !text_reported && c->content != NULL &&
                   c->content[strspn((const char *)c->content, " \t\r\n")] != '\0') {
            report(ld, scn_line_of(c), "unexpected text in <%s>", e->name);
            text_reported = 1;
        }
    }
    if (e->text) {
        xmlChar *t = xmlNodeGetContent(n);
        *(const char **)AT(obj, e->text_off) =
            h2o_strdup(&ld->s->pool, t != NULL ? (const char *)t : "", SIZE_MAX).base;
        xmlFree(t);
    }
}

/* Validates DOC against the schema; its messages are kept in ld->schema_errs. */
static void validate(struct load *ld, xmlDoc *doc)
{
    xmlRelaxNGValidCtxtPtr vc;

    if (ld->schema == NULL || (vc = xmlRelaxNGNewValidCtxt(ld->schema)) == NULL)
        return;
    ld->phase = PHASE_SCHEMA;
    xmlRelaxNGSetValidStructuredErrors(vc, on_xml_error, ld);
    if (xmlRelaxNGValidateDoc(vc, doc) != 0 && ld->schema_errs.count == 0)
        report(ld, scn_line_of(xmlDocGetRootElement(doc)),
               "schema: the document does not validate");
    xmlRelaxNGFreeValidCtxt(vc);
}

static void load_file(struct load *ld, const char *path);

/* Loads the base that extends="NAME", written at LINE of the file being read, names. */
static void extend(struct load *ld, unsigned line, const char *name)
{
    char path[PATH_MAX], real[PATH_MAX], from[PATH_MAX];
    const char *file = ld->file;

    /* a document from memory has no folder of its own: its bases are the bundled scenarios */
    snprintf(from, sizeof(from), "%s/%s", scn_bundled_dir(), "-");
    if (*name == '\0') {
        report(ld, line, "bad value \"\" for extends: expected a scenario name or a path");
    } else if (ld->depth == SCN_MAX_CHAIN) {
        report(ld, line, "extends \"%s\": too deep (at most %d files in a chain)", name,
               SCN_MAX_CHAIN);
    } else if (scn_resolve_base(ld->mem != NULL && ld->depth == 1 ? from : file, name, path,
                                sizeof(path)) != 0 ||
               realpath(path, real) == NULL) {
        report(ld, line, "extends \"%s\": no such scenario", name);
    } else {
        for (size_t i = 0; i < ld->depth; i++) {
            if (strcmp(ld->real[i], real) != 0)
                continue;
            size_t len = strlen(path) + 1;
            for (size_t k = i; k < ld->depth; k++)
                len += strlen(ld->chain[k]) + 4;
            char *cycle = h2o_mem_alloc_pool(&ld->tmp, len);
            cycle[0] = '\0';
            for (size_t k = i; k < ld->depth; k++)
                strcat(strcat(cycle, ld->chain[k]), " -> ");
            report(ld, line, "extends \"%s\": cycle (%s%s)", name, cycle, path);
            ld->broken = 1;
            return;
        }
        load_file(ld, h2o_strdup(&ld->s->pool, path, SIZE_MAX).base);
        ld->file = file;
        return;
    }
    ld->broken = 1;
}

/* Reads PATH, applies what it extends, then applies PATH itself on top. */
static void load_file(struct load *ld, const char *path)
{
    char real[PATH_MAX], *buf;
    xmlDoc *doc = NULL;
    xmlNode *root;
    xmlChar *ext = NULL;
    unsigned before;
    size_t len;

    ld->file = path;
    if ((buf = read_file(ld, &len)) == NULL || (doc = parse(ld, buf, len)) == NULL) {
        free(buf);
        ld->broken = 1;
        return;
    }
    root = xmlDocGetRootElement(doc);
    scn_scan_tags(&ld->tmp, buf, buf + len, root);
    if (root == NULL || strcmp((const char *)root->name, "scenario") != 0 || !in_ns(root)) {
        report(ld, scn_line_of(root), "the root element must be <scenario xmlns=\"%s\">", SCN_NS);
        ld->broken = 1;
        goto done;
    }
    ld->chain[ld->depth] = path;
    ld->real[ld->depth] =
        h2o_strdup(&ld->tmp,
                   (ld->mem == NULL || ld->depth != 0) && realpath(path, real) != NULL ? real
                                                                                       : path,
                   SIZE_MAX)
            .base;
    ld->depth++;
    if ((ext = xmlGetNoNsProp(root, (const xmlChar *)"extends")) != NULL)
        extend(ld, scn_attr_line(root, xmlHasNsProp(root, (const xmlChar *)"extends", NULL)),
               (const char *)ext);

    ld->gen++;
    ld->root_line = scn_line_of(root);
    before = ld->errs->count;
    validate(ld, doc);
    walk(ld, &scn_scenario_elem, &ld->d, root);
    if (ld->errs->count == before && ld->schema_errs.count != 0) {
        /* nothing of ours caught it: the schema's own words */
        ld->errs->text = h2o_mem_realloc(ld->errs->text, ld->errs->len + ld->schema_errs.len + 1);
        memcpy(ld->errs->text + ld->errs->len, ld->schema_errs.text, ld->schema_errs.len + 1);
        ld->errs->len += ld->schema_errs.len;
        ld->errs->count += ld->schema_errs.count;
    }
    scn_errors_free(&ld->schema_errs);
    ld->depth--;
done:
    xmlFree(ext);
    xmlFreeDoc(doc);
    free(buf);
}

/* The built-in schema, compiled once for the process (scn_cleanup() frees it). A compiled
 * RelaxNG schema is only read by validation, each with its own context, so the threads share it. */
static pthread_once_t schema_once = PTHREAD_ONCE_INIT;
static xmlRelaxNGPtr schema;

static void on_schema_error(void *ctx, xmlErrorPtr e)
{
    UNUSED(ctx), UNUSED(e); /* the built-in schema compiles, or every load says so */
}

static void compile_schema(void)
{
    xmlRelaxNGParserCtxtPtr pc;

    xmlInitParser();
    pc = xmlRelaxNGNewMemParserCtxt(scn_schema_rng, (int)strlen(scn_schema_rng));
    if (pc == NULL)
        h2o_fatal("out of memory");
    xmlRelaxNGSetParserStructuredErrors(pc, on_schema_error, NULL);
    schema = xmlRelaxNGParse(pc);
    xmlRelaxNGFreeParserCtxt(pc);
}

void scn_cleanup(void)
{
    xmlRelaxNGFree(schema);
    schema = NULL;
}

/* Loads the scenario named PATH, from MEM when it is not NULL, else from the file. */
static struct scn *load(const char *path, const char *mem, size_t mem_len, struct scn_errors *errs)
{
    struct load ld = {.errs = errs, .mem = mem, .mem_len = mem_len};
    unsigned before = errs->count;
    xmlStructuredErrorFunc old_serror;
    void *old_sctx;
    xmlGenericErrorFunc old_gerror;
    void *old_gctx;
    struct scn *s;

    pthread_once(&schema_once, compile_schema);
    old_serror = xmlStructuredError;
    old_sctx = xmlStructuredErrorContext;
    old_gerror = xmlGenericError;
    old_gctx = xmlGenericErrorContext;
    s = memset(h2o_mem_alloc(sizeof(*s)), 0, sizeof(*s));
    h2o_mem_init_pool(&s->pool);
    atomic_init(&s->refcnt, 1);
    s->file = h2o_strdup(&s->pool, path, SIZE_MAX).base;
    ld.s = s;
    h2o_mem_init_pool(&ld.tmp);

    xmlSetStructuredErrorFunc(&ld, on_xml_error);
    xmlSetGenericErrorFunc(&ld, on_xml_generic);
    if ((ld.schema = schema) != NULL) {
        load_file(&ld, s->file);
        if (!ld.broken)
            scn_build(s, &ld.d, errs);
    } else {
        scn_error(errs, NULL,
                  "internal error: the built-in schema (scenario.rng) does not compile");
    }
    xmlSetStructuredErrorFunc(old_sctx, old_serror);
    xmlSetGenericErrorFunc(old_gctx, old_gerror);

    h2o_mem_clear_pool(&ld.tmp);
    if (errs->count != before) {
        scn_unref(s);
        return NULL;
    }
    return s;
}

struct scn *scn_load(const char *path, struct scn_errors *errs)
{
    return load(path, NULL, 0, errs);
}

struct scn *scn_load_mem(const char *name, const char *buf, size_t len, struct scn_errors *errs)
{
    return load(name, buf != NULL ? buf : "", len, errs);
}
