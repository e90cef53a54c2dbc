/*
 * soap — safe XML parsing and writing for the endpoints.
 */
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>

#include "log.h"
#include "soap.h"

static void on_doc_dispose(void *p)
{
    xmlFreeDoc(*(xmlDoc **)p);
}

/* SAX hook: a document type declaration ends the parse before its contents are read, so no
 * entity is ever declared, let alone expanded (billion laughs, XXE). */
static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext_id,
                               const xmlChar *sys_id)
{
    UNUSED(name), UNUSED(ext_id), UNUSED(sys_id);
    xmlStopParser(ctx);
}

xmlDoc *soap_parse(h2o_mem_pool_t *pool, h2o_iovec_t body)
{
    xmlParserCtxtPtr ctxt;
    xmlDoc *doc = NULL;

    if (body.base == NULL || body.len == 0 || body.len > INT32_MAX)
        return NULL;
    if ((ctxt = xmlCreateMemoryParserCtxt(body.base, (int)body.len)) == NULL)
        return NULL;
    xmlCtxtUseOptions(ctxt, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                                XML_PARSE_NOCDATA);
    ctxt->sax->internalSubset = on_internal_subset;
    ctxt->sax->externalSubset = NULL;
    xmlParseDocument(ctxt);
    if (ctxt->wellFormed && !ctxt->disableSAX && ctxt->myDoc != NULL &&
        ctxt->myDoc->intSubset == NULL) {
        doc = ctxt->myDoc;
    } else if (ctxt->myDoc != NULL) {
        xmlFreeDoc(ctxt->myDoc);
    }
    ctxt->myDoc = NULL;
    xmlFreeParserCtxt(ctxt);
    if (doc != NULL)
        *(xmlDoc **)h2o_mem_alloc_shared(pool, sizeof(doc), on_doc_dispose) = doc;
    return doc;
}

int soap_is(const xmlNode *n, const char *ns, const char *name)
{
    if (n == NULL || n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, name) != 0)
        return 0;
    if (ns == NULL)
        return n->ns == NULL || n->ns->href == NULL || n->ns->href[0] == '\0';
    return n->ns != NULL && n->ns->href != NULL && strcmp((const char *)n->ns->href, ns) == 0;
}

xmlNode *soap_child(const xmlNode *parent, const char *ns, const char *name)
{
    if (parent == NULL)
        return NULL;
    for (xmlNode *c = parent->children; c != NULL; c = c->next)
        if (soap_is(c, ns, name))
            return c;
    return NULL;
}

h2o_iovec_t soap_text(h2o_mem_pool_t *pool, const xmlNode *n)
{
    xmlChar *t;
    h2o_iovec_t r = h2o_iovec_init("", 0);
    size_t b = 0, e;

    if (n == NULL || (t = xmlNodeGetContent(n)) == NULL)
        return r;
    e = strlen((const char *)t);
    while (b < e && strchr(" \t\r\n", t[b]) != NULL)
        b++;
    while (e > b && strchr(" \t\r\n", t[e - 1]) != NULL)
        e--;
    r = h2o_strdup(pool, (const char *)t + b, e - b);
    xmlFree(t);
    return r;
}

xmlTextWriterPtr soap_writer_new(xmlBufferPtr *buf)
{
    xmlTextWriterPtr w;

    if ((*buf = xmlBufferCreate()) == NULL || (w = xmlNewTextWriterMemory(*buf, 0)) == NULL)
        fatalx("out of memory");
    xmlTextWriterStartDocument(w, "1.0", "utf-8", NULL);
    return w;
}

h2o_iovec_t soap_writer_finish(h2o_mem_pool_t *pool, xmlTextWriterPtr w, xmlBufferPtr buf)
{
    h2o_iovec_t r;

    xmlTextWriterEndDocument(w);
    xmlFreeTextWriter(w);
    r = h2o_strdup(pool, (const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
    xmlBufferFree(buf);
    return r;
}
