/*
 * soap — safe XML parsing and writing for the endpoints.
 */
#include <string.h>
#include <strings.h>
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

int soap_media_is(h2o_iovec_t ct, const char *type)
{
    size_t n = strlen(type);
    return ct.len >= n && strncasecmp(ct.base, type, n) == 0 &&
           (ct.len == n || ct.base[n] == ';' || ct.base[n] == ' ');
}

/* The longest client text quoted back in a reason or a fault. */
#define SOAP_QUOTE_MAX 256

/* V cut to at most SOAP_QUOTE_MAX bytes on a UTF-8 boundary. */
static h2o_iovec_t quote(h2o_iovec_t v)
{
    if (v.len > SOAP_QUOTE_MAX) {
        v.len = SOAP_QUOTE_MAX;
        while (v.len > 0 && ((unsigned char)v.base[v.len] & 0xc0) == 0x80)
            v.len--;
    }
    return v;
}

const char *soap_wcf_415_reason(h2o_mem_pool_t *pool, h2o_iovec_t ct, const char *expected)
{
    return h2o_concat(pool,
                      h2o_iovec_init(H2O_STRLIT("Cannot process the message because the content "
                                                "type '")),
                      quote(ct), h2o_iovec_init(H2O_STRLIT("' was not the expected type '")),
                      h2o_iovec_init(expected, strlen(expected)), h2o_iovec_init(H2O_STRLIT("'.")))
        .base;
}

const char *soap_wcf_action_not_supported(h2o_mem_pool_t *pool, h2o_iovec_t action)
{
    return h2o_concat(
               pool, h2o_iovec_init(H2O_STRLIT("The message with Action '")), quote(action),
               h2o_iovec_init(H2O_STRLIT(
                   "' cannot be processed at the receiver, due to a ContractFilter mismatch at "
                   "the EndpointDispatcher. This may be because of either a contract mismatch "
                   "(mismatched Actions between sender and receiver) or a binding/security "
                   "mismatch between the sender and the receiver.  Check that sender and "
                   "receiver have the same contract and the same binding (including security "
                   "requirements, e.g. Message, Transport, None).")))
        .base;
}
