/* fuzz_autodiscover_json — what follows /autodiscover/autodiscover.json in the raw path of an
 * Autodiscover v2 request: "/v1.0/<address>?Protocol=..." (ad_json_answer). */
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
    ad_json_answer(&c, h2o_iovec_init(size != 0 ? (const char *)data : "", size), &a);
    h2o_mem_clear_pool(&pool);
    return 0;
}
