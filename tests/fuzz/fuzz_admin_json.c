/* fuzz_admin_json — the JSON body of `PUT /scenario` ({"name": ...} or {"file": ...}), as the
 * admin API reads it (admin_switch_fields). */
#include "admin_int.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *name, *file;
    char err[512];
    json_t *doc;

    if (admin_switch_fields(h2o_iovec_init(size != 0 ? (const char *)data : "", size), &doc, &name,
                            &file, err, sizeof(err)) == 0) {
        if (doc == NULL || (name == NULL) == (file == NULL))
            abort();
        json_decref(doc);
    } else if (doc != NULL || memchr(err, '\0', sizeof(err)) == NULL) {
        abort();
    }
    return 0;
}
