/* The decrypt service's pure modules, compiled into this test: the unit
 * harness links only lindung_common, and these files belong to the
 * service's own folder. */
#include "../../../services/decrypt/decrypt_rules.c"
#include "../../../services/decrypt/replay_window.c"
#include "../../../services/decrypt/system_keys.c"
