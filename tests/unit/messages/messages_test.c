/* messages: the outputs every scan-path service builds. */
#include "messages.h"

#include <sodium.h>
#include <stdlib.h>

#include "testing.h"

/* A dead letter about a record of any size stays small: a prefix of the
 * key and value, their lengths, and a hash that names the whole value. */
static void test_dead_letter_is_bounded(void) {
  size_t value_len = 1 << 20, key_len = 100000;
  uint8_t *value = malloc(value_len), *key = malloc(key_len);
  CHECK(value && key);
  if (!value || !key) return;
  randombytes_buf(value, value_len);
  randombytes_buf(key, key_len);
  uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
  size_t len = messages_dead_letter("ingest", "too_large", "scan.requests.gojek", 3, 42, key,
                                    key_len, value, value_len, 1000, out, sizeof out);
  CHECK(len > 0 && len <= sizeof out);
  Lindung__V1__DeadLetter *letter = lindung__v1__dead_letter__unpack(NULL, len, out);
  CHECK(letter != NULL);
  if (letter) {
    CHECK_EQ_INT(letter->source_value.len, MESSAGES_DEAD_LETTER_KEEP_VALUE);
    CHECK_MEM(letter->source_value.data, value, MESSAGES_DEAD_LETTER_KEEP_VALUE);
    CHECK_EQ_INT(letter->source_value_length, value_len);
    CHECK_EQ_INT(letter->source_key.len, MESSAGES_DEAD_LETTER_KEEP_KEY);
    CHECK_EQ_INT(letter->source_key_length, key_len);
    uint8_t hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof hash, value, value_len, NULL, 0);
    CHECK_EQ_INT(letter->source_value_hash.len, sizeof hash);
    CHECK_MEM(letter->source_value_hash.data, hash, sizeof hash);
    CHECK_EQ_STR(letter->source_topic, "scan.requests.gojek");
    CHECK_EQ_INT(letter->source_offset, 42);
    lindung__v1__dead_letter__free_unpacked(letter, NULL);
  }
  free(value);
  free(key);
}

/* A small record is kept whole. */
static void test_dead_letter_keeps_small_records_whole(void) {
  uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
  size_t len = messages_dead_letter("decrypt", "bad", "scan.accepted", 0, 7, "k", 1, "value", 5, 1,
                                    out, sizeof out);
  Lindung__V1__DeadLetter *letter = lindung__v1__dead_letter__unpack(NULL, len, out);
  CHECK(letter != NULL);
  if (letter) {
    CHECK_EQ_INT(letter->source_value.len, 5);
    CHECK_MEM(letter->source_value.data, "value", 5);
    CHECK_EQ_INT(letter->source_key.len, 1);
    CHECK_EQ_INT(letter->source_value_length, 5);
    lindung__v1__dead_letter__free_unpacked(letter, NULL);
  }
  /* Too small an output buffer is refused, not overrun. */
  CHECK_EQ_INT(messages_dead_letter("decrypt", "bad", "t", 0, 7, NULL, 0, "v", 1, 1, out, 8), 0);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_dead_letter_is_bounded);
  RUN(test_dead_letter_keeps_small_records_whole);
  return testing_summary();
}
