/* fuzz_autodiscover_pox — the body of a POST to /autodiscover/autodiscover.xml (ad_pox_answer),
 * answered from the bundled `healthy` scenario. */
#include "autodiscover.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    h2o_mem_pool_t pool;
    struct ad_answer a;

    if (s == NULL)
        s = fuzz_scenario("healthy");
    h2o_mem_init_pool(&pool);
    struct ad_ctx c = {.scn = s, .server = &s->servers[0], .pool = &pool};
    ad_pox_answer(&c, h2o_iovec_init(H2O_STRLIT("POST")),
                  h2o_iovec_init(size != 0 ? (const char *)data : "", size), &a);
    h2o_mem_clear_pool(&pool);
    return 0;
}
