/*
 * mrsproxy — /EWS/mrsproxy.svc as a browser and a probe meet it.
 */
#include <string.h>
#include <strings.h>

#include "log.h"
#include "mrsproxy.h"

/* WCF's service page when the service has no metadata endpoint (httpGetEnabled false): the
 * MRS Proxy's most likely answer to an authenticated GET (reference 4.6, unconfirmed). */
static const char help_page[] =
    "<HTML lang=\"en\"><HEAD><link rel=\"alternate\" type=\"text/xml\" "
    "href=\"/EWS/mrsproxy.svc?disco\"/><STYLE type=\"text/css\">#content{ FONT-SIZE: 0.7em; "
    "PADDING-BOTTOM: 2em; MARGIN-LEFT: 30px}BODY{MARGIN-TOP: 0px; MARGIN-LEFT: 0px; COLOR: "
    "#000000; FONT-FAMILY: Verdana; BACKGROUND-COLOR: white}</STYLE>"
    "<TITLE>MailboxReplicationProxyService Service</TITLE></HEAD><BODY><DIV id=\"content\" "
    "role=\"main\"><h1 class=\"heading1\">MailboxReplicationProxyService Service</h1><BR/>"
    "<P class=\"intro\">This is a Windows&#169; Communication Foundation service.<BR/><BR/>"
    "<B>Metadata publishing for this service is currently disabled.</B><BR/><BR/>If you have "
    "access to the service, you can enable metadata publishing by completing the following steps "
    "to modify your web or application configuration file:<BR/><BR/>1. Create the following "
    "service behavior configuration, or add the &lt;serviceMetadata&gt; element to an existing "
    "service behavior configuration:</P></DIV></BODY></HTML>";

/* The front end's answer when MRSProxyEnabled is false (2013+): an ASP.NET HttpException with
 * status 403 raised by the HttpProxy module (reference 4.1; body unconfirmed). */
static const char disabled_page[] =
    "<!DOCTYPE html>\r\n<html>\r\n    <head>\r\n        <title>MRS proxy service is "
    "disabled</title>\r\n    </head>\r\n    <body bgcolor=\"white\">\r\n            "
    "<span><H1>Server "
    "Error in '/EWS' Application.<hr width=100% size=1 color=silver></H1>\r\n            "
    "<h2> <i>MRS proxy service is disabled</i> </h2></span>\r\n    </body>\r\n</html>\r\n";

int mrs_svc(struct flow *f)
{
    h2o_req_t *req = f->req;

    if (!f->server->mrsproxy_enabled) {
        flow_why(f, "mrsproxy", "MRSProxyEnabled is false on %s", f->server->name);
        return flow_send(f, 403, 0, 0, "text/html; charset=utf-8",
                         h2o_iovec_init(disabled_page, sizeof(disabled_page) - 1));
    }
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("GET")) ||
        h2o_memis(req->method.base, req->method.len, H2O_STRLIT("HEAD"))) {
        flow_why(f, "mrsproxy", "service page");
        return flow_send(f, 200, 0, 0, "text/html; charset=UTF-8",
                         h2o_iovec_init(help_page, sizeof(help_page) - 1));
    }
    /* The SOAP 1.2 binding takes nothing else: WCF answers any other content type with 415
     * and this reason phrase. */
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_CONTENT_TYPE, -1);
    h2o_iovec_t ct = i < 0 ? h2o_iovec_init("", 0) : req->headers.entries[i].value;
    if (ct.len < 20 || strncasecmp(ct.base, "application/soap+xml", 20) != 0) {
        flow_why(f, "mrsproxy", "content type is not SOAP 1.2");
        if (ct.len > 256)
            ct.len = 256;
        f->reason = h2o_concat(&req->pool,
                               h2o_iovec_init(H2O_STRLIT("Cannot process the message because the "
                                                         "content type '")),
                               ct,
                               h2o_iovec_init(H2O_STRLIT("' was not the expected type "
                                                         "'application/soap+xml; charset=utf-8'.")))
                        .base;
        return flow_send(f, 415, 0, 0, NULL, h2o_iovec_init("", 0));
    }
    flow_why(f, "mrsproxy", "SOAP operations are not emulated yet");
    return flow_send_iis_error(f, 500, 0, 0);
}
