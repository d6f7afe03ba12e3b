/* key_dir: reads numbered key files from a directory (key_dir.h). */
#include "key_dir.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "hex.h"

#define KEY_DIR_HEX_LEN (2 * KEY_DIR_KEY_BYTES)

uint32_t key_dir_file_id(const char *name, const char *prefix) {
  static const char suffix[] = ".key";
  size_t len = strlen(name), pre = strlen(prefix), suf = sizeof(suffix) - 1;
  if (len <= pre + 1 + suf || strncmp(name, prefix, pre) != 0 || name[pre] != '-' ||
      strcmp(name + len - suf, suffix) != 0)
    return 0;
  uint64_t id = 0;
  for (size_t i = pre + 1; i < len - suf; i++) {
    if (name[i] < '0' || name[i] > '9' || i - pre > 10) return 0;
    id = id * 10 + (uint64_t)(name[i] - '0');
  }
  return id <= UINT32_MAX ? (uint32_t)id : 0;
}

int key_dir_load(const char *dir, const char *prefix, bool strict, key_dir_key_fn on_key, void *ctx,
                 char *err, size_t err_len) {
  if (!dir || !*dir) {
    snprintf(err, err_len, "no %s key directory given", prefix);
    return -1;
  }
  DIR *d = opendir(dir);
  if (!d) {
    snprintf(err, err_len, "cannot open %s key directory %s: %s", prefix, dir, strerror(errno));
    return -1;
  }
  int count = 0;
  struct dirent *entry;
  /* Buffers for key material are wiped on every path out. */
  uint8_t text[KEY_DIR_HEX_LEN + 1];
  uint8_t key[KEY_DIR_KEY_BYTES];
  /* Locked (never swapped) while they hold a key; munlock wipes them. */
  (void)sodium_mlock(text, sizeof(text));
  (void)sodium_mlock(key, sizeof(key));
  while (count >= 0 && (entry = readdir(d)) != NULL) {
    uint32_t key_id = key_dir_file_id(entry->d_name, prefix);
    if (!key_id) continue;
    char path[4096];
    if (snprintf(path, sizeof(path), "%s/%s", dir, entry->d_name) >= (int)sizeof(path)) {
      snprintf(err, err_len, "%s key path too long in %s", prefix, dir);
      count = -1;
      break;
    }
    long len = cfg_read_secret(path, text, KEY_DIR_HEX_LEN, strict, err, err_len);
    if (len < 0) {
      count = -1;
      break;
    }
    text[len] = '\0';
    if (len != KEY_DIR_HEX_LEN || hex_decode((const char *)text, key, sizeof key) != 0) {
      snprintf(err, err_len, "%s key file %s does not hold 64 hex characters", prefix, path);
      count = -1;
      break;
    }
    count = on_key(ctx, key_id, key, err, err_len) == 0 ? count + 1 : -1;
    sodium_memzero(key, sizeof(key));
  }
  closedir(d);
  sodium_munlock(text, sizeof(text));
  sodium_munlock(key, sizeof(key));
  return count;
}
