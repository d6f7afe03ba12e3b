/* admin_json: the strict flat-object reader of the admin API (see
 * admin_json.h), on libjansson. Jansson does the JSON (UTF-8, escapes,
 * surrogates, duplicates, trailing bytes); this file keeps the admin API's
 * narrower language: one flat object of strings and integers. Refusals
 * name the line and column, never jansson's text, which can quote input. */
#include "admin_json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int admin_json_refuse(char *err, size_t err_len, const char *what) {
  snprintf(err, err_len, "%s", what);
  return -1;
}

static int admin_json_member(const char *key, json_t *value, admin_json_field *f, char *err,
                             size_t err_len) {
  size_t key_len = strlen(key);
  if (key_len == 0 || key_len > ADMIN_JSON_MAX_KEY)
    return admin_json_refuse(err, err_len, "member name empty or too long");
  memcpy(f->key, key, key_len + 1);
  if (json_is_string(value)) {
    f->type = ADMIN_JSON_STRING;
    f->string_len = json_string_length(value);
    f->string = malloc(f->string_len + 1);
    if (!f->string) return admin_json_refuse(err, err_len, "out of memory");
    memcpy(f->string, json_string_value(value), f->string_len + 1);
    return 0;
  }
  if (json_is_integer(value)) {
    f->type = ADMIN_JSON_INTEGER;
    f->integer = (int64_t)json_integer_value(value);
    return 0;
  }
  return admin_json_refuse(err, err_len, "values must be strings or integers");
}

int admin_json_parse(const char *text, size_t len, admin_json_object *out, char *err,
                     size_t err_len) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  /* Without JSON_ALLOW_NUL, "\u0000" is refused; without
   * JSON_DECODE_INT_AS_REAL, fractions and exponents stay reals (refused). */
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!root) {
    snprintf(err, err_len, "not valid JSON (line %d, column %d)", jerr.line, jerr.column);
    return -1;
  }
  int rc = -1;
  if (!json_is_object(root)) {
    admin_json_refuse(err, err_len, "the body must be one JSON object");
  } else if (json_object_size(root) > ADMIN_JSON_MAX_FIELDS) {
    admin_json_refuse(err, err_len, "too many members");
  } else {
    const char *key;
    json_t *value;
    rc = 0;
    json_object_foreach(root, key, value) {
      if (admin_json_member(key, value, &out->fields[out->count], err, err_len) != 0) {
        rc = -1;
        break;
      }
      out->count++;
    }
  }
  json_decref(root);
  if (rc) admin_json_free(out);
  return rc;
}

void admin_json_free(admin_json_object *object) {
  for (size_t i = 0; i < object->count; i++) free(object->fields[i].string);
  memset(object, 0, sizeof *object);
}

const admin_json_field *admin_json_get(const admin_json_object *object, const char *key) {
  for (size_t i = 0; i < object->count; i++)
    if (strcmp(object->fields[i].key, key) == 0) return &object->fields[i];
  return NULL;
}
