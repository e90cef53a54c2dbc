/* fuzz_clienthello — the first TLS record a client sends, as the handshake-fault listener
 * peeks at it for the SNI name (hs_parse_sni), and that name against the healthy scenario's
 * listener (hs_name_known). */
#include "fuzz.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scn *s;
    char name[256];
    int r;

    if (s == NULL)
        s = fuzz_scenario("healthy");
    memset(name, 'x', sizeof(name));
    r = hs_parse_sni(data, size, name, sizeof(name));
    if (r < -1 || r > 1 || (r == 1 && memchr(name, '\0', sizeof(name)) == NULL))
        abort();
    if (r == 1)
        hs_name_known(&s->listeners[0], name);
    return 0;
}
