/* Unit tests of buffer (growth, failure, printf) and json_write (the one
 * JSON string escaping: controls, quotes, UTF-8 kept, bad bytes replaced). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "json_write.h"
#include "testing.h"

static void test_buffer_grows_and_stays_terminated(void) {
  buffer b = {0};
  buffer_append(&b, "", 0);
  CHECK(b.data != NULL);
  CHECK_EQ_STR(b.data, "");
  for (int i = 0; i < 1000; i++) buffer_puts(&b, "0123456789");
  CHECK_EQ_INT(b.len, 10000);
  CHECK_EQ_INT(b.data[b.len], '\0');
  CHECK(!b.failed);
  buffer_reset(&b);
  buffer_printf(&b, "%s=%d", "n", 42);
  CHECK_EQ_STR(b.data, "n=42");
  buffer_free(&b);
  CHECK(b.data == NULL && b.len == 0);
}

static void test_buffer_refuses_absurd_sizes(void) {
  buffer b = {0};
  buffer_puts(&b, "kept");
  buffer_append(&b, "x", SIZE_MAX - 1); /* never read: the size is refused first */
  CHECK(b.failed);
  buffer_puts(&b, "more");
  CHECK_EQ_STR(b.data, "kept"); /* failed: later appends do nothing */
  buffer_free(&b);
}

static void test_escapes(void) {
  char out[64];
  CHECK_EQ_INT(json_write_escaped("a\"b\\c\n\x01", out, sizeof out), 15);
  CHECK_EQ_STR(out, "a\\\"b\\\\c\\n\\u0001");
  CHECK_EQ_INT(json_write_escaped("tab\t cr\r del\x7f", out, sizeof out), 20);
  CHECK_EQ_STR(out, "tab\\t cr\\r del\\u007f");
  CHECK_EQ_INT(json_write_escaped("abcdef", out, 4), -1);
  CHECK_EQ_STR(out, "");
  CHECK_EQ_INT(json_write_escaped("abc", out, 4), 3);
}

static void test_utf8_kept_and_bad_bytes_replaced(void) {
  char out[64];
  json_write_escaped("caf\xc3\xa9 \xf0\x9f\x98\x80", out, sizeof out);
  CHECK_EQ_STR(out, "caf\xc3\xa9 \xf0\x9f\x98\x80");
  /* A lone continuation byte, an overlong '/', a surrogate, a cut sequence. */
  json_write_escaped("a\x80" "b\xc0\xaf" "c\xed\xa0\x80" "d\xe2\x82", out, sizeof out);
  CHECK_EQ_STR(out, "a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\\ufffdd\\ufffd\\ufffd");
}

static void test_buffer_and_file_forms_agree(void) {
  const char *text = "x\"\n\xc3\xa9\xff";
  buffer b = {0};
  json_write_string(&b, text, strlen(text));
  char *file_text = NULL;
  size_t file_len = 0;
  FILE *f = open_memstream(&file_text, &file_len);
  CHECK(f != NULL);
  if (!f) return;
  json_write_fstring(f, text);
  fclose(f);
  CHECK_EQ_STR(b.data, "\"x\\\"\\n\xc3\xa9\\ufffd\"");
  CHECK_EQ_STR(file_text, b.data);
  free(file_text);
  buffer_free(&b);
}

int main(void) {
  RUN(test_buffer_grows_and_stays_terminated);
  RUN(test_buffer_refuses_absurd_sizes);
  RUN(test_escapes);
  RUN(test_utf8_kept_and_bad_bytes_replaced);
  RUN(test_buffer_and_file_forms_agree);
  return testing_summary();
}
