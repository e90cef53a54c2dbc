/*
 * probe_xml — the probe reads what servers answer (Autodiscover POX, SOAP 1.2 from the MRS
 * Proxy) with libxml2, as the server side does: no network, no entity expansion, no DTD, a
 * size cap (the body is already cut at PROBE_BODY_MAX by probe_http.c).
 */
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "probe_int.h"

xmlDoc *probe_xml_parse(const char *body, size_t len)
{
    if (body == NULL || len == 0 || len > PROBE_BODY_MAX)
        return NULL;
    return xmlReadMemory(body, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA);
}

static int is(const xmlNode *n, const char *ns, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 &&
           (ns == NULL || (n->ns != NULL && strcmp((const char *)n->ns->href, ns) == 0));
}

xmlNode *probe_xml_child(const xmlNode *parent, const char *ns, const char *name)
{
    for (xmlNode *n = parent != NULL ? parent->children : NULL; n != NULL; n = n->next)
        if (is(n, ns, name))
            return n;
    return NULL;
}

xmlNode *probe_xml_find(xmlNode *n, const char *ns, const char *name)
{
    /* iterative: a hostile answer nested deeply must not exhaust the stack */
    const xmlNode *top = n;

    while (n != NULL) {
        if (is(n, ns, name))
            return n;
        if (n->children != NULL && n->type == XML_ELEMENT_NODE) {
            n = n->children;
            continue;
        }
        while (n != top && n->next == NULL)
            n = n->parent;
        if (n == top)
            return NULL;
        n = n->next;
    }
    return NULL;
}

char *probe_xml_text(const xmlNode *n, char *out, size_t len)
{
    xmlChar *t = n != NULL ? xmlNodeGetContent(n) : NULL;
    const char *s = t != NULL ? (const char *)t : "";
    size_t l;

    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    l = strlen(s);
    while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[l - 1] == '\n'))
        l--;
    if (len > 0)
        snprintf(out, len, "%.*s", (int)(l < len ? l : len - 1), s);
    xmlFree(t);
    return out;
}
