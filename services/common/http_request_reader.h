/* http_request_reader: the request side of http_server, on Debian's
 * libhttp-parser, as a state machine with no I/O: bytes in, complete
 * requests out through a callback. Keeps only the URL and the two headers
 * handlers use (Authorization, Content-Type) in a fixed buffer bounded by
 * the 8 KiB head limit, and the body up to max_body.
 *
 * After each complete request the reader pauses (one request at a time);
 * http_request_reader_resume() continues with the bytes that follow. The
 * fuzz harness tests/fuzz/http_request.c drives it as the server does.
 * Prefix http_request_reader_. */
#ifndef LINDUNG_HTTP_REQUEST_READER_H
#define LINDUNG_HTTP_REQUEST_READER_H

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#include "http_server.h"

#define HTTP_HEAD_MAX 8192 /* URL + header names and values */
#define HTTP_FIELD_MAX 32  /* longest header name we need to recognise, plus slack */

/* A complete request; close is true when the connection must close after
 * the answer (HTTP/1.0, "Connection: close", an upgrade). request and its
 * strings are valid during the call only. */
typedef void (*http_request_fn)(void *owner, const http_request *request, bool close);

typedef enum { HEADER_OTHER, HEADER_AUTHORIZATION, HEADER_CONTENT_TYPE } http_header_kind;

/* Embedded by its owner; the fields are private. */
typedef struct http_request_reader {
  http_parser parser;
  size_t max_body;
  http_request_fn on_request;
  void *owner;
  const char *peer;

  int error_status; /* set by a callback that refused the request */
  bool force_close;
  size_t head_bytes;
  char head[HTTP_HEAD_MAX + 8]; /* URL, then the kept header values, NUL-separated */
  size_t head_used;
  size_t url_len;
  bool url_done;
  char field[HTTP_FIELD_MAX];
  size_t field_len;
  bool in_value;
  http_header_kind value_kind;
  size_t value_start;
  long authorization_at; /* offset into head, -1 if absent */
  long content_type_at;
  char *body;
  size_t body_len;
  size_t body_cap;
} http_request_reader;

/* peer ("ip:port") is handed on in every request and must outlive r. */
void http_request_reader_init(http_request_reader *r, size_t max_body, http_request_fn on_request,
                              void *owner, const char *peer);

/* Parses data[0..len); returns how many bytes were consumed. Stops early
 * when a request completed (http_request_reader_paused) or on an error. */
size_t http_request_reader_execute(http_request_reader *r, const char *data, size_t len);

bool http_request_reader_paused(const http_request_reader *r);

/* 0 while the input is a valid request (or paused after one); else the
 * HTTP status to answer before closing: 400, 413, 431 or 500. */
int http_request_reader_error(const http_request_reader *r);

/* Continues after a complete request. */
void http_request_reader_resume(http_request_reader *r);

/* Frees what a request being read holds. */
void http_request_reader_free(http_request_reader *r);

#endif
