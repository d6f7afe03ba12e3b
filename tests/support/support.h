/* support: fixtures the tests share (tests/support, linked as
 * lindung_test_support). Files in and out, the keys and the sealed request
 * of docs/vectors/envelope-v1.json, and, for integration drivers, the test
 * stack's settings. Functions here return errors rather than CHECK, since
 * testing.h counts per translation unit; the stack helpers exit(2), as a
 * driver cannot go on without its stack. */
#ifndef LINDUNG_TEST_SUPPORT_H
#define LINDUNG_TEST_SUPPORT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <sys/types.h>

/* From docs/vectors/envelope-v1.json: the partner "gojek" (key id 7), the
 * system key (id 1) and a ScanRequest sealed with them. */
#define VECTOR_PARTNER_PK_HEX "88ec0fc10a8149791fe704cc1579d7c00e7c25aa3baa17dfe51944036c79666f"
#define VECTOR_PARTNER_SK_HEX "49343c6837abdf9e0b8723978d555121dde42f65e2576e418c2aaf164ea46036"
#define VECTOR_SYSTEM_PK_HEX "c75dca63d937aed11d77c0f061aa12d2b5d7e033e30d3bb56fd68bf79ca82875"
#define VECTOR_SYSTEM_SK_HEX "cdefab7b1d03e25fa1e6ac9ca1bf099284fa92eeb9cb6ad814bed547eaaf276e"
#define VECTOR_SCAN_REQUEST_HEX                                                                \
  "08011205676f6a656b180720012a10000102030405060708090a0b0c0d0e0f3080b8b4a4c22f3a186465666768" \
  "696a6b6c6d6e6f707172737475767778797a7b423cd2699af4ad0b9b78da67f56892d9c7b7eefb5c358c27f4fd" \
  "a490f9f099e0e220b292e7a319a7b1884b208937a2dc603c5e947e1663aa89c4b3f920b3"
#define VECTOR_SENT_AT 1632700800000ull

/* Writes text to path (replacing it), then sets mode. 0 or -1. */
int support_write_file(const char *path, const char *text, mode_t mode);

/* The whole file, NUL-terminated (free() it); *len its size when len is
 * not NULL. NULL when it cannot be read. */
char *support_read_file(const char *path, size_t *len);

/* The value of a variable stack.env exports; exits 2 when it is unset. */
const char *stack_env(const char *name);

/* A connection to the URL in the variable (LINDUNG_DB_URL, say: the role
 * is the principal); exits 2 when unset or refused. */
PGconn *stack_pg_connect(const char *url_variable);

#endif
