/* fuzz_wsrm — the SOAP 1.2 envelope of a POST to the MRS Proxy, /EWS/mrsproxy.svc: WS-RM
 * sequences (CreateSequence, messages, acknowledgements, TerminateSequence) and the
 * addressing around them (soap_parse, mrs_soap). The sequences a run creates stay on the
 * server, as on a real one, up to its limit; the first byte's low bit says whether the caller
 * may use the MRS Proxy. */
#include "fuzz.h"
#include "mrsproxy.h"
#include "soap.h"
#include "wsrm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    h2o_mem_pool_t pool;
    struct mrs_answer out;

    if (size == 0)
        return 0;
    if (s == NULL)
        s = fuzz_scenario("healthy");
    h2o_mem_init_pool(&pool);
    mrs_soap(soap_parse(&pool, h2o_iovec_init(data + 1, size - 1)), &s->servers[0], data[0] & 1,
             h2o_iovec_init(H2O_STRLIT("https://mail.contoso.com/EWS/mrsproxy.svc")), &pool, &out);
    h2o_mem_clear_pool(&pool);
    return 0;
}
