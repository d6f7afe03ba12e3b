/* admin_tls: TLS for the admin API over libuv, through OpenSSL memory BIOs
 * (libuv moves the bytes, OpenSSL never touches the socket).
 *
 * admin_tls_context_new() loads the server certificate (chain) and key;
 * admin_tls_session wraps one connection: feed it what the socket read,
 * take the plaintext it yields, hand it plaintext to send and take the
 * bytes to write. TLS 1.2 or later only.
 * Prefix admin_tls_. Nothing here logs or exits. */
#ifndef LINDUNG_ADMIN_TLS_H
#define LINDUNG_ADMIN_TLS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct admin_tls_context admin_tls_context;
typedef struct admin_tls_session admin_tls_session;

/* NULL with err filled when the files cannot be used (unreadable, not a
 * certificate, key not matching the certificate). */
admin_tls_context *admin_tls_context_new(const char *cert_file, const char *key_file, char *err,
                                         size_t err_len);
void admin_tls_context_free(admin_tls_context *ctx);

admin_tls_session *admin_tls_session_new(admin_tls_context *ctx);
void admin_tls_session_free(admin_tls_session *session);

/* Hands len bytes read from the socket to the session; then call
 * admin_tls_read() until it returns 0 and admin_tls_pending_output() to
 * send what the handshake wants written. -1 when the peer broke TLS. */
int admin_tls_receive(admin_tls_session *session, const char *data, size_t len);

/* Plaintext the client sent: > 0 bytes, 0 when nothing more for now, -1
 * on a TLS error or the client's close. */
long admin_tls_read(admin_tls_session *session, char *out, size_t out_len);

/* Encrypts len bytes of plaintext (and, with close, the close_notify alert
 * after them). 0 or -1. */
int admin_tls_send(admin_tls_session *session, const char *data, size_t len, bool close);

/* The bytes waiting to go to the socket, malloc'd (caller frees), or NULL
 * with *len 0 when there are none. */
char *admin_tls_pending_output(admin_tls_session *session, size_t *len);

#endif
