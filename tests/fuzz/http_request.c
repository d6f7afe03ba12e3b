/* Fuzzes the HTTP request parser every service's listener runs
 * (http_request_reader.h, used by http_server for /healthz, /readyz,
 * /metrics and handler routes), fed as the server feeds it: in pieces as
 * reads return them, resuming after each complete request (pipelining).
 * Checks what handlers rely on: terminated strings within the limits, a
 * body within max_body and terminated, one error status of the four the
 * server answers.
 *
 * Input: one byte choosing the read size (1..256), then the bytes a client
 * sends. */
#include <string.h>

#include "fuzz.h"
#include "http_request_reader.h"

#define MAX_BODY 1024

static size_t requests;

static void on_request(void *owner, const http_request *request, bool close) {
  (void)owner;
  (void)close;
  FUZZ_ASSERT(request->method && request->path && request->query && request->peer);
  FUZZ_ASSERT(strlen(request->path) + strlen(request->query) < HTTP_HEAD_MAX);
  FUZZ_ASSERT(strlen(request->authorization) < HTTP_HEAD_MAX);
  FUZZ_ASSERT(strlen(request->content_type) < HTTP_HEAD_MAX);
  FUZZ_ASSERT(request->body_len <= MAX_BODY && request->body[request->body_len] == '\0');
  requests++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_reader in = {data, size};
  size_t piece = (size_t)fuzz_byte(&in) + 1;
  http_request_reader reader;
  http_request_reader_init(&reader, MAX_BODY, on_request, NULL, "127.0.0.1:9");
  requests = 0;
  const char *p = (const char *)in.data;
  size_t left = in.len;
  while (left > 0) {
    size_t len = left < piece ? left : piece;
    size_t parsed = http_request_reader_execute(&reader, p, len);
    FUZZ_ASSERT(parsed <= len);
    p += parsed;
    left -= parsed;
    if (http_request_reader_paused(&reader)) {
      http_request_reader_resume(&reader);
      continue;
    }
    int status = http_request_reader_error(&reader);
    FUZZ_ASSERT(status == 0 || status == 400 || status == 413 || status == 431 || status == 500);
    /* An error, or an upgrade: the server answers and closes. */
    if (status != 0 || parsed < len) break;
  }
  http_request_reader_free(&reader);
  return 0;
}
