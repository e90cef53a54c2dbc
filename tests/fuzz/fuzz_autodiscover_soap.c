/* fuzz_autodiscover_soap — a POST to /autodiscover/autodiscover.svc (ad_soap_answer): the
 * input's fields are its Content-Type, its SOAPAction and its body (fuzz_field). */
#include "autodiscover.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    const uint8_t *p = data, *end = data + size, *ct, *action, *body;
    size_t ct_len = fuzz_field(&p, end, &ct), action_len = fuzz_field(&p, end, &action);
    size_t body_len = (size_t)(end - p);
    h2o_mem_pool_t pool;
    struct ad_answer a;

    body = p;
    if (s == NULL)
        s = fuzz_scenario("healthy");
    h2o_mem_init_pool(&pool);
    struct ad_ctx c = {.scn = s, .server = &s->servers[0], .pool = &pool};
    ad_soap_answer(&c, h2o_iovec_init(H2O_STRLIT("POST")), h2o_iovec_init(ct, ct_len),
                   h2o_iovec_init(action, action_len), h2o_iovec_init(body, body_len), &a);
    h2o_mem_clear_pool(&pool);
    return 0;
}
