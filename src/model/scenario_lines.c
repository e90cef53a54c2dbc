/*
 * scenario_lines — where each start tag and each of its attributes begins in a scenario file,
 * for `file:line: message`. libxml2 gives an element the line where its start tag ends and gives
 * attributes no line at all; for a message about <account ...> written over three lines, the
 * line of the '<' or of the attribute itself is the one to show. The document is well-formed and
 * has no DTD by the time this runs, so a small scan of the bytes finds every start tag, in the
 * order of the elements in the tree (scn_scan_tags()), and hangs it on the element's _private.
 */
#include <stddef.h>
#include <string.h>
#include <h2o/memory.h>
#include <libxml/tree.h>

#include "scenario_int.h"

struct tag_attr {
    const char *name; /* as written, prefix included */
    size_t len;
    unsigned line;
};

struct tag {
    const char *name; /* as written, prefix included */
    size_t len;
    unsigned line;
    struct tag_attr *attrs;
    size_t num_attrs;
};

/* The line where element N begins. */
unsigned scn_line_of(const xmlNode *n)
{
    const struct tag *t = n != NULL ? n->_private : NULL;
    long l = n != NULL ? xmlGetLineNo(n) : 0;
    return t != NULL ? t->line : l > 0 ? (unsigned)l : 0;
}

/* P (LEN bytes, as written in the file) is the name NAME with the prefix of NS, if any. */
static int same_qname(const char *p, size_t len, const xmlNs *ns, const xmlChar *name)
{
    const char *prefix = ns != NULL && ns->prefix != NULL ? (const char *)ns->prefix : "";
    size_t plen = *prefix != '\0' ? strlen(prefix) + 1 : 0;

    return len == plen + strlen((const char *)name) &&
           (plen == 0 || (memcmp(p, prefix, plen - 1) == 0 && p[plen - 1] == ':')) &&
           memcmp(p + plen, name, len - plen) == 0;
}

/* The line where attribute A of element N is written. */
unsigned scn_attr_line(const xmlNode *n, const xmlAttr *a)
{
    const struct tag *t = n->_private;

    for (size_t i = 0; t != NULL && i < t->num_attrs; i++)
        if (same_qname(t->attrs[i].name, t->attrs[i].len, a->ns, a->name))
            return t->attrs[i].line;
    return scn_line_of(n);
}

/* Advances *P past the next STOP, counting lines; to END when there is none. */
static void skip_past(const char **p, const char *end, const char *stop, unsigned *line)
{
    size_t n = strlen(stop);

    while (*p < end && ((size_t)(end - *p) < n || memcmp(*p, stop, n) != 0))
        *line += *(*p)++ == '\n';
    *p = (size_t)(end - *p) >= n ? *p + n : end;
}

/* The element after N in document order, within ROOT; NULL after the last. */
static xmlNode *next_element(xmlNode *root, xmlNode *n)
{
    if (xmlFirstElementChild(n) != NULL)
        return xmlFirstElementChild(n);
    for (; n != NULL && n != root; n = n->parent)
        if (xmlNextElementSibling(n) != NULL)
            return xmlNextElementSibling(n);
    return NULL;
}

void scn_scan_tags(h2o_mem_pool_t *pool, const char *p, const char *end, xmlNode *root)
{
    H2O_VECTOR(struct tag) tags = {NULL};
    unsigned line = 1;
    size_t k = 0;

    if (memchr(p, '\0', (size_t)(end - p)) != NULL)
        return; /* UTF-16 or UTF-32: libxml2's lines will do */
    while (p < end) {
        if (*p != '<') {
            line += *p++ == '\n';
        } else if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
            skip_past(&p, end, "-->", &line);
        } else if (end - p >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
            skip_past(&p, end, "]]>", &line);
        } else if (end - p >= 2 && p[1] == '?') {
            skip_past(&p, end, "?>", &line);
        } else if (end - p >= 2 && (p[1] == '/' || p[1] == '!')) {
            skip_past(&p, end, ">", &line);
        } else {
            H2O_VECTOR(struct tag_attr) attrs = {NULL};
            struct tag *t;
            h2o_vector_reserve(pool, &tags, tags.size + 1);
            t = &tags.entries[tags.size++];
            t->line = line;
            t->name = ++p;
            t->len = strcspn(p, " \t\r\n/>"); /* no NUL before end (checked above), one at end */
            p += t->len;
            for (;;) {
                for (; p < end && strchr(" \t\r\n", *p) != NULL; p++)
                    line += *p == '\n';
                if (p >= end || *p == '/' || *p == '>')
                    break;
                h2o_vector_reserve(pool, &attrs, attrs.size + 1);
                attrs.entries[attrs.size] = (struct tag_attr){p, strcspn(p, " \t\r\n="), line};
                p += attrs.entries[attrs.size++].len;
                p += strcspn(p, "\"'");
                if (p < end) {
                    char quote[2] = {*p++, '\0'};
                    skip_past(&p, end, quote, &line);
                }
            }
            t->attrs = attrs.entries;
            t->num_attrs = attrs.size;
            skip_past(&p, end, ">", &line);
        }
    }
    /* pair them with the elements, in document order; at the first tag that is not its
     * element's (which a well-formed UTF-8 document cannot have), keep libxml2's lines */
    for (xmlNode *n = root; n != NULL; n = next_element(root, n)) {
        if (k == tags.size ||
            !same_qname(tags.entries[k].name, tags.entries[k].len, n->ns, n->name)) {
            for (xmlNode *o = root; o != NULL; o = next_element(root, o))
                o->_private = NULL;
            return;
        }
        n->_private = &tags.entries[k++];
    }
}
