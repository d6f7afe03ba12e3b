/* Fuzzes the JSON reader (admin_json_parse on libjansson): the admin API's
 * request bodies and the answers lindungctl reads back. Checks the promises
 * of admin_json.h on whatever it accepts: at most ADMIN_JSON_MAX_FIELDS
 * members, names of 1..32 bytes, strings with no NUL inside, each member
 * found by name, and every string escaped by json_write_escaped reads back
 * as itself.
 *
 * Input: the body, as it arrives. */
#include <string.h>

#include "../../services/revocation/admin_json.h"
#include "fuzz.h"
#include "json_write.h"

static void check_escape_round_trip(const admin_json_field *f) {
  size_t cap = f->string_len * 6 + 16; /* "\u00XX" at worst */
  char *escaped = malloc(cap);
  char *body = malloc(cap + 16);
  FUZZ_ASSERT(escaped && body);
  int n = json_write_escaped(f->string, escaped, cap);
  FUZZ_ASSERT(n >= 0 && (size_t)n == strlen(escaped));
  int body_len = snprintf(body, cap + 16, "{\"s\":\"%s\"}", escaped);
  admin_json_object again;
  char err[120];
  FUZZ_ASSERT(admin_json_parse(body, (size_t)body_len, &again, err, sizeof err) == 0);
  const admin_json_field *s = admin_json_get(&again, "s");
  FUZZ_ASSERT(s && s->type == ADMIN_JSON_STRING && s->string_len == f->string_len &&
              memcmp(s->string, f->string, f->string_len) == 0);
  admin_json_free(&again);
  free(body);
  free(escaped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  admin_json_object object;
  char err[120];
  err[0] = '\0';
  if (admin_json_parse((const char *)data, size, &object, err, sizeof err) != 0) {
    FUZZ_ASSERT(object.count == 0 && err[0] != '\0');
    admin_json_free(&object);
    return 0;
  }
  FUZZ_ASSERT(object.count <= ADMIN_JSON_MAX_FIELDS);
  for (size_t i = 0; i < object.count; i++) {
    const admin_json_field *f = &object.fields[i];
    size_t key_len = strlen(f->key);
    FUZZ_ASSERT(key_len >= 1 && key_len <= ADMIN_JSON_MAX_KEY);
    FUZZ_ASSERT(admin_json_get(&object, f->key) == f);
    if (f->type == ADMIN_JSON_STRING) {
      FUZZ_ASSERT(f->string && strlen(f->string) == f->string_len);
      check_escape_round_trip(f);
    } else {
      FUZZ_ASSERT(f->type == ADMIN_JSON_INTEGER);
    }
  }
  admin_json_free(&object);
  return 0;
}
