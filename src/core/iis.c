/*
 * iis — IIS's reason phrases, error pages and Server headers.
 */
#include <string.h>

#include "iis.h"
#include "util.h"

/* Reason phrases as IIS writes them. */
static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {200, "OK"},
    {202, "Accepted"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {411, "Length Required"},
    {413, "Request Entity Too Large"},
    {415, "Unsupported Media Type"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {503, "Service Unavailable"},
};

/* IIS 10's error pages for remote clients: title and text; SUBSTATUS -1 for any. */
static const struct {
    int status;
    int substatus;
    const char *title;
    const char *text;
} pages[] = {
    {401, -1, "401 - Unauthorized: Access is denied due to invalid credentials.",
     "You do not have permission to view this directory or page using the credentials that you "
     "supplied."},
    {403, 4, "403.4 - Forbidden: SSL is required to view this resource.",
     "The page you are trying to access is secured with Secure Sockets Layer (SSL)."},
    {403, -1, "403 - Forbidden: Access is denied.",
     "You do not have permission to view this directory or page using the credentials that you "
     "supplied."},
    {404, -1, "404 - File or directory not found.",
     "The resource you are looking for might have been removed, had its name changed, or is "
     "temporarily unavailable."},
    {413, -1, "413 - Request Entity Too Large.",
     "The page was not displayed because the request entity is too large."},
    {405, -1, "405 - HTTP verb used to access this page is not allowed.",
     "The page you are looking for cannot be displayed because an invalid method (HTTP verb) was "
     "used to attempt access."},
    {500, -1, "500 - Internal server error.",
     "There is a problem with the resource you are looking for, and it cannot be displayed."},
};

const char *iis_reason(int status)
{
    for (size_t i = 0; i < COUNTOF(reasons); i++)
        if (reasons[i].status == status)
            return reasons[i].reason;
    /* a status without a row: the class's generic phrase */
    return status < 300   ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Bad Request"
                          : "Internal Server Error";
}

h2o_iovec_t iis_error_page(h2o_mem_pool_t *pool, struct iis_status st)
{
    const char *title = iis_reason(st.status), *text = "";

    for (size_t i = 0; i < COUNTOF(pages); i++) {
        if (pages[i].status != st.status ||
            (pages[i].substatus >= 0 && pages[i].substatus != st.substatus))
            continue;
        title = pages[i].title;
        text = pages[i].text;
        break;
    }
    /* The shape of IIS's non-detailed error page (the text is IIS's, the styling left out). */
    return h2o_concat(
        pool,
        h2o_iovec_init(H2O_STRLIT(
            "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" "
            "\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n"
            "<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n"
            "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n"
            "<title>")),
        h2o_iovec_init(title, strlen(title)),
        h2o_iovec_init(H2O_STRLIT("</title>\r\n</head>\r\n<body>\r\n<div id=\"header\"><h1>Server "
                                  "Error</h1></div>\r\n<div id=\"content\">\r\n <div "
                                  "class=\"content-container\"><fieldset>\r\n  <h2>")),
        h2o_iovec_init(title, strlen(title)), h2o_iovec_init(H2O_STRLIT("</h2>\r\n  <h3>")),
        h2o_iovec_init(text, strlen(text)),
        h2o_iovec_init(
            H2O_STRLIT("</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n")));
}

const char *iis_server_header(enum scn_version v)
{
    /* The IIS of the Windows Server each version is most often installed on. */
    switch (v) {
    case SCN_V2010:
        return "Microsoft-IIS/7.5";
    case SCN_V2013:
        return "Microsoft-IIS/8.5";
    default:
        return "Microsoft-IIS/10.0";
    }
}
