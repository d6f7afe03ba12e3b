/* Fuzzes the dead-letter path: every refused input, whatever its key and
 * value, becomes a DeadLetter record (messages_dead_letter) on
 * scan.deadletter. Checks that the record always fits the buffer every
 * service gives it (a dead letter that does not fit would lose the input),
 * and that a reader decoding it gets back what was refused: the place, the
 * bounded key and value prefixes, their full lengths and the value's hash.
 *
 * Input: the topic (length byte, at most 249: Kafka's limit), the reason,
 * one byte the key's length, the key, then the value. */
#include <sodium.h>
#include <string.h>

#include "fuzz.h"
#include "messages.h"
#include "proto_limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader r = {data, size};
  char *topic = fuzz_string(&r, 249);
  char *reason = fuzz_string(&r, 40);
  int32_t partition = (int32_t)fuzz_u32(&r);
  size_t key_len;
  const uint8_t *key = fuzz_bytes(&r, fuzz_byte(&r), &key_len);
  const uint8_t *value = r.data;
  size_t value_len = r.len;

  uint8_t out[MESSAGES_DEAD_LETTER_MAX_BYTES];
  size_t len = messages_dead_letter("status-resolver", reason, topic, partition, 77, key, key_len,
                                    value, value_len, FUZZ_NOW_MS, out, sizeof out);
  FUZZ_ASSERT(len > 0);

  ProtobufCMessage *message = NULL;
  FUZZ_ASSERT(proto_decode(&lindung__v1__dead_letter__descriptor, out, len,
                           PROTO_MAX_MESSAGE_BYTES, &message) == PROTO_DECODE_OK);
  const Lindung__V1__DeadLetter *letter = (const Lindung__V1__DeadLetter *)message;
  FUZZ_ASSERT(strcmp(letter->source_topic, topic) == 0);
  FUZZ_ASSERT(strcmp(letter->reason, reason) == 0);
  FUZZ_ASSERT(letter->source_partition == partition && letter->source_offset == 77);
  FUZZ_ASSERT(letter->source_key_length == key_len && letter->source_value_length == value_len);
  size_t kept_key =
      key_len < MESSAGES_DEAD_LETTER_KEEP_KEY ? key_len : MESSAGES_DEAD_LETTER_KEEP_KEY;
  size_t kept_value =
      value_len < MESSAGES_DEAD_LETTER_KEEP_VALUE ? value_len : MESSAGES_DEAD_LETTER_KEEP_VALUE;
  FUZZ_ASSERT(letter->source_key.len == kept_key &&
              (kept_key == 0 || memcmp(letter->source_key.data, key, kept_key) == 0));
  FUZZ_ASSERT(letter->source_value.len == kept_value &&
              (kept_value == 0 || memcmp(letter->source_value.data, value, kept_value) == 0));
  uint8_t hash[crypto_generichash_BYTES];
  crypto_generichash(hash, sizeof hash, value, value_len, NULL, 0);
  FUZZ_ASSERT(letter->source_value_hash.len == sizeof hash &&
              memcmp(letter->source_value_hash.data, hash, sizeof hash) == 0);
  protobuf_c_message_free_unpacked(message, NULL);
  free(topic);
  free(reason);
  return 0;
}
