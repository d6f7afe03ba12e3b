/* Unit tests of inner_seal: sealing between decrypt and the resolver, key
 * rotation by key id, the keyed partition hash, and the key directory. */
#define _GNU_SOURCE
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inner_seal.h"
#include "key_dir.h"
#include "lindung/v1/internal.pb-c.h"
#include "testing.h"

#define CONTEXT "scan.decrypted"

static const char secret_text[] = "3171012509890001 and a response pad";

static inner_seal_keys *keys_with(uint32_t id, uint8_t fill) {
  uint8_t master[INNER_SEAL_KEY_BYTES];
  memset(master, fill, sizeof master);
  inner_seal_keys *keys = inner_seal_keys_new();
  CHECK(keys != NULL);
  CHECK(inner_seal_keys_add(keys, id, master) == 0);
  return keys;
}

static size_t seal_text(const inner_seal_keys *keys, uint8_t *out, size_t cap) {
  return inner_seal(keys, CONTEXT, (const uint8_t *)secret_text, sizeof secret_text, out, cap);
}

static inner_open_status open_text(const inner_seal_keys *keys, const uint8_t *in, size_t len,
                                   uint8_t *plain, size_t *plain_len) {
  return inner_open(keys, CONTEXT, in, len, plain, 256, plain_len);
}

static void test_round_trip(void) {
  inner_seal_keys *keys = keys_with(1, 0x11);
  uint8_t sealed[512], plain[256];
  size_t len = seal_text(keys, sealed, sizeof sealed), plain_len = 99;
  CHECK(len > sizeof secret_text);
  CHECK(len <= sizeof secret_text + INNER_SEAL_OVERHEAD);
  /* Nothing of the clear text shows in the sealed bytes. */
  CHECK(memmem(sealed, len, "3171012509890001", 16) == NULL);
  CHECK_EQ_INT(open_text(keys, sealed, len, plain, &plain_len), INNER_OPEN_OK);
  CHECK_EQ_INT(plain_len, sizeof secret_text);
  CHECK_MEM(plain, secret_text, sizeof secret_text);
  /* The record names its key id. */
  Lindung__V1__SealedRecord *record = lindung__v1__sealed_record__unpack(NULL, len, sealed);
  CHECK(record && record->key_id == 1 && record->nonce.len == INNER_SEAL_NONCE_BYTES);
  if (record) lindung__v1__sealed_record__free_unpacked(record, NULL);
  /* A fresh nonce each time: the same text seals differently. */
  uint8_t again[512];
  size_t again_len = seal_text(keys, again, sizeof again);
  CHECK(again_len == len && memcmp(again, sealed, len) != 0);
  /* An empty message seals and opens too. */
  len = inner_seal(keys, CONTEXT, NULL, 0, sealed, sizeof sealed);
  CHECK(len > 0);
  CHECK_EQ_INT(inner_open(keys, CONTEXT, sealed, len, plain, sizeof plain, &plain_len),
               INNER_OPEN_OK);
  CHECK_EQ_INT(plain_len, 0);
  inner_seal_keys_free(keys);
}

static void test_wrong_key_does_not_open(void) {
  inner_seal_keys *sealer = keys_with(1, 0x11), *other = keys_with(1, 0x22);
  uint8_t sealed[512], plain[256];
  memset(plain, 0, sizeof plain);
  size_t len = seal_text(sealer, sealed, sizeof sealed), plain_len = 99;
  CHECK_EQ_INT(open_text(other, sealed, len, plain, &plain_len), INNER_OPEN_FORGED);
  CHECK_EQ_INT(plain_len, 0);
  /* Another topic's context does not open it either. */
  CHECK_EQ_INT(inner_open(sealer, "scan.accepted", sealed, len, plain, sizeof plain, &plain_len),
               INNER_OPEN_FORGED);
  /* A key id not held at all says so. */
  inner_seal_keys *unknown = keys_with(9, 0x11);
  CHECK_EQ_INT(open_text(unknown, sealed, len, plain, &plain_len), INNER_OPEN_UNKNOWN_KEY);
  CHECK_EQ_STR(inner_open_reason(INNER_OPEN_UNKNOWN_KEY), "sealed_unknown_key");
  inner_seal_keys *empty = inner_seal_keys_new();
  CHECK_EQ_INT(open_text(empty, sealed, len, plain, &plain_len), INNER_OPEN_UNKNOWN_KEY);
  /* And no key, nothing sealed. */
  CHECK_EQ_INT(seal_text(empty, sealed, sizeof sealed), 0);
  inner_seal_keys_free(empty);
  inner_seal_keys_free(unknown);
  inner_seal_keys_free(other);
  inner_seal_keys_free(sealer);
}

static void test_tampered_does_not_open(void) {
  inner_seal_keys *keys = keys_with(3, 0x33);
  uint8_t sealed[512], bent[512], plain[256];
  size_t len = seal_text(keys, sealed, sizeof sealed), plain_len;
  /* Every single bit flipped anywhere: never opens, never crashes. */
  int opened = 0;
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(bent, sealed, len);
      bent[i] ^= (uint8_t)(1u << bit);
      if (open_text(keys, bent, len, plain, &plain_len) == INNER_OPEN_OK) opened++;
    }
  }
  CHECK_EQ_INT(opened, 0);
  /* The record re-labelled with another key id held: the id is bound. */
  inner_seal_keys *two = keys_with(3, 0x33);
  uint8_t master[32];
  memset(master, 0x33, sizeof master);
  CHECK(inner_seal_keys_add(two, 4, master) == 0);
  Lindung__V1__SealedRecord *record = lindung__v1__sealed_record__unpack(NULL, len, sealed);
  CHECK(record != NULL);
  if (record) {
    record->key_id = 4;
    size_t relabelled = lindung__v1__sealed_record__pack(record, bent);
    CHECK_EQ_INT(open_text(two, bent, relabelled, plain, &plain_len), INNER_OPEN_FORGED);
    /* Cut short: no tag left. */
    record->key_id = 3;
    record->ciphertext.len = 10;
    size_t cut = lindung__v1__sealed_record__pack(record, bent);
    CHECK_EQ_INT(open_text(keys, bent, cut, plain, &plain_len), INNER_OPEN_MALFORMED);
    lindung__v1__sealed_record__free_unpacked(record, NULL);
  }
  /* Truncated, empty, junk, oversized. */
  for (size_t cut = 0; cut < len; cut++)
    CHECK(open_text(keys, sealed, cut, plain, &plain_len) != INNER_OPEN_OK);
  CHECK_EQ_INT(open_text(keys, (const uint8_t *)"\xff\xff\xff", 3, plain, &plain_len),
               INNER_OPEN_MALFORMED);
  static uint8_t huge[1 << 20];
  CHECK_EQ_INT(open_text(keys, huge, sizeof huge, plain, &plain_len), INNER_OPEN_MALFORMED);
  /* Too small a buffer to open into is refused, not overrun. */
  CHECK_EQ_INT(inner_open(keys, CONTEXT, sealed, len, plain, 4, &plain_len),
               INNER_OPEN_MALFORMED);
  inner_seal_keys_free(two);
  inner_seal_keys_free(keys);
}

/* Rotation: the opener holds the previous and the current key; records
 * sealed under either open; the sealer uses the highest id it holds. */
static void test_old_key_id_still_opens(void) {
  inner_seal_keys *before = keys_with(1, 0x11);
  uint8_t old_record[512], new_record[512], plain[256];
  size_t old_len = seal_text(before, old_record, sizeof old_record), plain_len;

  inner_seal_keys *after = keys_with(1, 0x11);
  uint8_t master[32];
  memset(master, 0x22, sizeof master);
  CHECK(inner_seal_keys_add(after, 2, master) == 0);
  CHECK_EQ_INT(inner_seal_current_id(after), 2);
  CHECK_EQ_INT(inner_seal_keys_count(after), 2);
  size_t new_len = seal_text(after, new_record, sizeof new_record);
  Lindung__V1__SealedRecord *record = lindung__v1__sealed_record__unpack(NULL, new_len, new_record);
  CHECK(record && record->key_id == 2);
  if (record) lindung__v1__sealed_record__free_unpacked(record, NULL);

  CHECK_EQ_INT(open_text(after, old_record, old_len, plain, &plain_len), INNER_OPEN_OK);
  CHECK_MEM(plain, secret_text, sizeof secret_text);
  CHECK_EQ_INT(open_text(after, new_record, new_len, plain, &plain_len), INNER_OPEN_OK);
  /* The previous key alone does not open the new records. */
  CHECK_EQ_INT(open_text(before, new_record, new_len, plain, &plain_len), INNER_OPEN_UNKNOWN_KEY);
  /* Id 0 is no key; the store is bounded. */
  CHECK(inner_seal_keys_add(after, 0, master) == -1);
  for (uint32_t id = 3; id <= INNER_SEAL_KEYS_MAX; id++)
    CHECK(inner_seal_keys_add(after, id, master) == 0);
  CHECK(inner_seal_keys_add(after, 1000, master) == -1);
  inner_seal_keys_free(after);
  inner_seal_keys_free(before);
}

static void test_partition_hash_is_keyed(void) {
  inner_seal_keys *a = keys_with(1, 0x11), *b = keys_with(1, 0x22), *none = inner_seal_keys_new();
  const char *nik = "3171012509890001";
  uint8_t ha[32], ha2[32], hb[32], other[32], unkeyed[32];
  CHECK(inner_seal_partition_hash(a, "nik", nik, 16, ha) == 0);
  CHECK(inner_seal_partition_hash(a, "nik", nik, 16, ha2) == 0);
  CHECK_MEM(ha, ha2, 32); /* stable: one person, one partition */
  CHECK(inner_seal_partition_hash(b, "nik", nik, 16, hb) == 0);
  CHECK(memcmp(ha, hb, 32) != 0); /* depends on the key */
  CHECK(inner_seal_partition_hash(a, "token", nik, 16, other) == 0);
  CHECK(memcmp(ha, other, 32) != 0); /* and on the label */
  crypto_generichash(unkeyed, 32, (const uint8_t *)nik, 16, NULL, 0);
  CHECK(memcmp(ha, unkeyed, 32) != 0);
  CHECK(inner_seal_partition_hash(none, "nik", nik, 16, ha) == -1);
  inner_seal_keys_free(none);
  inner_seal_keys_free(b);
  inner_seal_keys_free(a);
}

static void write_file(const char *dir, const char *name, const char *text, mode_t mode) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
  chmod(path, mode);
}

static void test_keys_from_directory(void) {
  char dir[] = "/tmp/inner-seal-test-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char err[512];
  inner_seal_keys *keys = inner_seal_keys_new();
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, dir, true, err, sizeof err), 0);
  write_file(dir, "inner-1.key",
             "1111111111111111111111111111111111111111111111111111111111111111\n", 0400);
  write_file(dir, "inner-7.key",
             "2222222222222222222222222222222222222222222222222222222222222222\n", 0600);
  write_file(dir, "system-3.key",
             "3333333333333333333333333333333333333333333333333333333333333333\n", 0600);
  write_file(dir, "inner-x.key", "not a key\n", 0600);
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, dir, true, err, sizeof err), 2);
  CHECK_EQ_INT(inner_seal_current_id(keys), 7);
  /* The files hold the same keys keys_with() makes. */
  inner_seal_keys *direct = keys_with(7, 0x22);
  uint8_t sealed[512], plain[256];
  size_t len = seal_text(keys, sealed, sizeof sealed), plain_len;
  CHECK_EQ_INT(open_text(direct, sealed, len, plain, &plain_len), INNER_OPEN_OK);
  inner_seal_keys_free(direct);
  /* Readable by others: refused when strict, naming the file only. */
  write_file(dir, "inner-8.key",
             "4444444444444444444444444444444444444444444444444444444444444444\n", 0644);
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, dir, true, err, sizeof err), -1);
  CHECK(strstr(err, "inner-8.key") != NULL);
  CHECK(strstr(err, "4444") == NULL);
  write_file(dir, "inner-8.key", "abcd\n", 0600);
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, dir, true, err, sizeof err), -1);
  CHECK(strstr(err, "64 hex") != NULL);
  char path[512];
  snprintf(path, sizeof path, "%s/inner-8.key", dir);
  unlink(path);
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, "/nonexistent/inner", true, err, sizeof err), -1);
  CHECK_EQ_INT(inner_seal_keys_load_dir(keys, NULL, true, err, sizeof err), -1);
  /* File names: only <prefix>-<decimal id 1..2^32-1>.key. */
  CHECK_EQ_INT(key_dir_file_id("inner-12.key", "inner"), 12);
  CHECK_EQ_INT(key_dir_file_id("inner-4294967295.key", "inner"), 4294967295u);
  CHECK_EQ_INT(key_dir_file_id("inner-4294967296.key", "inner"), 0);
  CHECK_EQ_INT(key_dir_file_id("inner-0.key", "inner"), 0);
  CHECK_EQ_INT(key_dir_file_id("inner-.key", "inner"), 0);
  CHECK_EQ_INT(key_dir_file_id("inner12.key", "inner"), 0);
  CHECK_EQ_INT(key_dir_file_id("inner-1.key.bak", "inner"), 0);
  CHECK_EQ_INT(key_dir_file_id("system-1.key", "inner"), 0);
  const char *names[] = {"inner-1.key", "inner-7.key", "system-3.key", "inner-x.key"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
  inner_seal_keys_free(keys);
}

int main(void) {
  if (sodium_init() < 0) return 1;
  RUN(test_round_trip);
  RUN(test_wrong_key_does_not_open);
  RUN(test_tampered_does_not_open);
  RUN(test_old_key_id_still_opens);
  RUN(test_partition_hash_is_keyed);
  RUN(test_keys_from_directory);
  return testing_summary();
}
