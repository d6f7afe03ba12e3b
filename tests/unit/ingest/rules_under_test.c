/* The ingest service's pure modules, compiled into this test: the unit
 * harness links only lindung_common, and these files belong to the
 * service's own folder. */
#include "../../../services/ingest/ingest_rules.c"
#include "../../../services/ingest/quota.c"
