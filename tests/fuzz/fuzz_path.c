/* fuzz_path — a request target as a client sends it: normalised by h2o as for every request
 * (h2o_url_normalize_path), routed (pipeline_route), matched against a firewall's URL filters
 * (urlfilter_match, the bundled `firewall-url-filter`), its query string read as the admin API
 * reads one (admin_query_next). */
#include "admin_int.h"
#include "flow.h"
#include "fuzz.h"
#include "pipeline.h"
#include "urlfilter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    h2o_mem_pool_t pool;
    h2o_req_t req;
    size_t query_at = SIZE_MAX, *norm_indexes = NULL, at = 0;
    h2o_iovec_t norm, name, value;
    const struct flow_route *r;
    int n = 0;

    if (s == NULL)
        s = fuzz_scenario("firewall-url-filter");
    h2o_mem_init_pool(&pool);
    norm = h2o_url_normalize_path(&pool, size != 0 ? (const char *)data : "", size, &query_at,
                                  &norm_indexes);
    if ((r = pipeline_route(norm)) != NULL && strncasecmp(norm.base, r->path, strlen(r->path)) != 0)
        abort();
    for (size_t i = 0; i < s->num_listeners; i++)
        if (s->listeners[i].firewall != NULL)
            urlfilter_match(s->listeners[i].firewall, norm.base, norm.len);

    memset(&req, 0, sizeof(req));
    req.pool = pool;
    req.path = h2o_iovec_init(size != 0 ? (const char *)data : "", size);
    req.query_at = query_at;
    while (n++ < 1000 && admin_query_next(&req, &at, &name, &value) == 1)
        if (memchr(name.base, '\0', name.len) != NULL || value.base[value.len] != '\0')
            abort();
    h2o_mem_clear_pool(&req.pool);
    return 0;
}
