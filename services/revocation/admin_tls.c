/* admin_tls: OpenSSL memory-BIO glue for the admin API (see admin_tls.h). */
#include "admin_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin_tls_context {
  SSL_CTX *ssl_ctx;
};

struct admin_tls_session {
  SSL *ssl;
  BIO *network_in;  /* socket bytes for OpenSSL to read */
  BIO *network_out; /* OpenSSL's bytes for the socket */
};

static void admin_tls_error(char *err, size_t err_len, const char *what) {
  unsigned long code = ERR_get_error();
  char reason[160] = "";
  if (code) ERR_error_string_n(code, reason, sizeof reason);
  ERR_clear_error();
  snprintf(err, err_len, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

admin_tls_context *admin_tls_context_new(const char *cert_file, const char *key_file, char *err,
                                         size_t err_len) {
  admin_tls_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) {
    snprintf(err, err_len, "out of memory");
    return NULL;
  }
  ctx->ssl_ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx->ssl_ctx) {
    admin_tls_error(err, err_len, "cannot create a TLS context");
  } else if (!SSL_CTX_set_min_proto_version(ctx->ssl_ctx, TLS1_2_VERSION)) {
    admin_tls_error(err, err_len, "cannot require TLS 1.2");
  } else if (SSL_CTX_use_certificate_chain_file(ctx->ssl_ctx, cert_file) != 1) {
    admin_tls_error(err, err_len, "cannot use the admin TLS certificate");
  } else if (SSL_CTX_use_PrivateKey_file(ctx->ssl_ctx, key_file, SSL_FILETYPE_PEM) != 1) {
    admin_tls_error(err, err_len, "cannot use the admin TLS key");
  } else if (SSL_CTX_check_private_key(ctx->ssl_ctx) != 1) {
    admin_tls_error(err, err_len, "the admin TLS key does not match its certificate");
  } else {
    /* Every connection carries one request: nothing to resume. */
    SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->ssl_ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    return ctx;
  }
  admin_tls_context_free(ctx);
  return NULL;
}

void admin_tls_context_free(admin_tls_context *ctx) {
  if (!ctx) return;
  SSL_CTX_free(ctx->ssl_ctx);
  free(ctx);
}

admin_tls_session *admin_tls_session_new(admin_tls_context *ctx) {
  admin_tls_session *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->ssl = SSL_new(ctx->ssl_ctx);
  s->network_in = BIO_new(BIO_s_mem());
  s->network_out = BIO_new(BIO_s_mem());
  if (!s->ssl || !s->network_in || !s->network_out) {
    BIO_free(s->network_in);
    BIO_free(s->network_out);
    SSL_free(s->ssl);
    free(s);
    return NULL;
  }
  /* A read from an empty memory BIO means "wait", not end of file. */
  BIO_set_mem_eof_return(s->network_in, -1);
  SSL_set_bio(s->ssl, s->network_in, s->network_out); /* the SSL owns both now */
  SSL_set_accept_state(s->ssl);
  return s;
}

void admin_tls_session_free(admin_tls_session *session) {
  if (!session) return;
  SSL_free(session->ssl);
  free(session);
}

int admin_tls_receive(admin_tls_session *session, const char *data, size_t len) {
  while (len > 0) {
    int chunk = len > 65536 ? 65536 : (int)len;
    int n = BIO_write(session->network_in, data, chunk);
    if (n <= 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

long admin_tls_read(admin_tls_session *session, char *out, size_t out_len) {
  int cap = out_len > 65536 ? 65536 : (int)out_len;
  int n = SSL_read(session->ssl, out, cap);
  if (n > 0) return n;
  int e = SSL_get_error(session->ssl, n);
  ERR_clear_error();
  return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

int admin_tls_send(admin_tls_session *session, const char *data, size_t len, bool close) {
  while (len > 0) {
    int chunk = len > 65536 ? 65536 : (int)len;
    int n = SSL_write(session->ssl, data, chunk);
    if (n <= 0) {
      ERR_clear_error();
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  if (close) SSL_shutdown(session->ssl);
  ERR_clear_error();
  return 0;
}

char *admin_tls_pending_output(admin_tls_session *session, size_t *len) {
  *len = 0;
  size_t pending = BIO_ctrl_pending(session->network_out);
  if (pending == 0) return NULL;
  char *out = malloc(pending);
  if (!out) return NULL;
  int n = BIO_read(session->network_out, out, (int)pending);
  if (n <= 0) {
    free(out);
    return NULL;
  }
  *len = (size_t)n;
  return out;
}
