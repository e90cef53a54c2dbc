/* fuzz_ews — the SOAP body of a POST to /EWS/Exchange.asmx (ews_process) by the healthy
 * scenario's administrator; the first byte's low bit picks SOAP 1.2 (application/soap+xml). */
#include "ews.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    h2o_mem_pool_t pool;
    struct ews_response out;

    if (size == 0)
        return 0;
    if (s == NULL)
        s = fuzz_scenario("healthy");
    h2o_mem_init_pool(&pool);
    struct ews_request rq = {.pool = &pool,
                             .scn = s,
                             .server = &s->servers[0],
                             .caller = &s->accounts[0],
                             .body = h2o_iovec_init(data + 1, size - 1),
                             .soap12 = data[0] & 1};
    ews_process(&rq, &out);
    h2o_mem_clear_pool(&pool);
    return 0;
}
