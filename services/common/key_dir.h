/* key_dir: reads a directory of numbered secret key files, "<prefix>-<id>.key"
 * (64 hex characters and a newline, 32 bytes), the way the system keys and
 * the inner keys are provisioned. Rotation adds a file with a higher id.
 * Other files are ignored. Prefix key_dir_. */
#ifndef LINDUNG_KEY_DIR_H
#define LINDUNG_KEY_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_DIR_KEY_BYTES 32

/* Called once per key file; a non-zero return stops the reading (the
 * callback has written the reason into err). */
typedef int (*key_dir_key_fn)(void *ctx, uint32_t key_id, const uint8_t key[KEY_DIR_KEY_BYTES],
                              char *err, size_t err_len);

/* The id of a file named "<prefix>-<id>.key" (decimal, 1..UINT32_MAX); 0 for
 * any other name. */
uint32_t key_dir_file_id(const char *name, const char *prefix);

/* Reads every key file of dir; files must not be readable by group or others
 * when strict is set. Returns the number of files read, or -1 with a reason
 * (naming the file, never its contents) in err. Key bytes are wiped after
 * each call of on_key. */
int key_dir_load(const char *dir, const char *prefix, bool strict, key_dir_key_fn on_key, void *ctx,
                 char *err, size_t err_len);

#endif
