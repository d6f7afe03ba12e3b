/* The revocation service's pure modules, compiled into the unit test (the
 * service's own files are not in lindung_common). */
#include "../../../services/revocation/admin_api.c"
#include "../../../services/revocation/admin_json.c"
#include "../../../services/revocation/admin_http.c"
