/*
 * ews — /EWS/Exchange.asmx. The operations come with the endpoints issue; until then the file
 * answers as a missing one.
 */
#include "ews.h"

int ews_asmx(struct flow *f)
{
    return flow_send_iis_error(f, 404, 0, 2);
}
