/* http_request_reader: parses HTTP/1.1 requests for http_server (see
 * http_request_reader.h). The callbacks below are libhttp-parser's; each
 * refuses with an HTTP status through reject(). */
#include "http_request_reader.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void request_reset(http_request_reader *r) {
  r->error_status = 0;
  r->force_close = false;
  r->head_bytes = 0;
  r->head_used = 0;
  r->url_len = 0;
  r->url_done = false;
  r->field_len = 0;
  r->in_value = false;
  r->value_kind = HEADER_OTHER;
  r->authorization_at = -1;
  r->content_type_at = -1;
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
  r->body_cap = 0;
}

static int reject(http_request_reader *r, int status) {
  r->error_status = status;
  return -1;
}

static int count_head(http_request_reader *r, size_t len) {
  r->head_bytes += len;
  return r->head_bytes > HTTP_HEAD_MAX ? reject(r, 431) : 0;
}

static int on_message_begin(http_parser *parser) {
  request_reset(parser->data);
  return 0;
}

static int on_url(http_parser *parser, const char *at, size_t len) {
  http_request_reader *r = parser->data;
  if (count_head(r, len) != 0) return -1;
  memcpy(r->head + r->head_used, at, len);
  r->head_used += len;
  r->url_len += len;
  return 0;
}

static void finish_url(http_request_reader *r) {
  if (r->url_done) return;
  r->head[r->head_used++] = '\0';
  r->url_done = true;
}

/* Ends the header value being read: trims trailing blanks and terminates it. */
static int finish_header(http_request_reader *r) {
  if (!r->in_value) return 0;
  r->in_value = false;
  if (r->value_kind == HEADER_OTHER) return 0;
  while (r->head_used > r->value_start &&
         (r->head[r->head_used - 1] == ' ' || r->head[r->head_used - 1] == '\t')) {
    r->head_used--;
  }
  r->head[r->head_used++] = '\0';
  long *slot =
      r->value_kind == HEADER_AUTHORIZATION ? &r->authorization_at : &r->content_type_at;
  /* Two Authorization (or Content-Type) headers are ambiguous: refuse. */
  if (*slot >= 0) return reject(r, 400);
  *slot = (long)r->value_start;
  return 0;
}

static int on_header_field(http_parser *parser, const char *at, size_t len) {
  http_request_reader *r = parser->data;
  if (count_head(r, len) != 0) return -1;
  finish_url(r);
  if (r->in_value) {
    if (finish_header(r) != 0) return -1;
    r->field_len = 0;
  }
  for (size_t i = 0; i < len && r->field_len < HTTP_FIELD_MAX; i++) {
    r->field[r->field_len++] = at[i];
  }
  return 0;
}

static http_header_kind header_kind(const http_request_reader *r) {
  if (r->field_len == 13 && strncasecmp(r->field, "authorization", 13) == 0) {
    return HEADER_AUTHORIZATION;
  }
  if (r->field_len == 12 && strncasecmp(r->field, "content-type", 12) == 0) {
    return HEADER_CONTENT_TYPE;
  }
  return HEADER_OTHER;
}

static int on_header_value(http_parser *parser, const char *at, size_t len) {
  http_request_reader *r = parser->data;
  if (count_head(r, len) != 0) return -1;
  if (!r->in_value) {
    r->in_value = true;
    r->value_kind = header_kind(r);
    r->value_start = r->head_used;
  }
  if (r->value_kind != HEADER_OTHER) {
    memcpy(r->head + r->head_used, at, len);
    r->head_used += len;
  }
  return 0;
}

static int on_headers_complete(http_parser *parser) {
  http_request_reader *r = parser->data;
  finish_url(r);
  if (finish_header(r) != 0) return -1;
  /* Protocol upgrades are not served: answer this request, then close. */
  if (parser->upgrade) r->force_close = true;
  if ((parser->flags & F_CONTENTLENGTH) && parser->content_length > r->max_body) {
    return reject(r, 413);
  }
  return 0;
}

static int on_body(http_parser *parser, const char *at, size_t len) {
  http_request_reader *r = parser->data;
  size_t max_body = r->max_body;
  if (len > max_body - r->body_len) return reject(r, 413);
  if (r->body_len + len + 1 > r->body_cap) {
    /* Grow geometrically, never past the limit (+1 for the terminator). */
    size_t cap = r->body_cap ? r->body_cap : 1024;
    while (cap < r->body_len + len + 1) cap *= 2;
    if (cap > max_body + 1) cap = max_body + 1;
    char *grown = realloc(r->body, cap);
    if (!grown) return reject(r, 500);
    r->body = grown;
    r->body_cap = cap;
  }
  memcpy(r->body + r->body_len, at, len);
  r->body_len += len;
  return 0;
}

static int on_message_complete(http_parser *parser) {
  http_request_reader *r = parser->data;
  struct http_parser_url url;
  http_parser_url_init(&url);
  if (http_parser_parse_url(r->head, r->url_len, 0, &url) != 0) return reject(r, 400);

  /* Cut the URL in place: the byte after the path ('?' or '#') and after the
   * query ('#') become terminators. */
  const char *path = "/";
  const char *query = "";
  if (url.field_set & (1 << UF_QUERY)) {
    char *q = r->head + url.field_data[UF_QUERY].off;
    q[url.field_data[UF_QUERY].len] = '\0';
    query = q;
  }
  if (url.field_set & (1 << UF_PATH)) {
    char *p = r->head + url.field_data[UF_PATH].off;
    p[url.field_data[UF_PATH].len] = '\0';
    path = p;
  }
  if (r->body) r->body[r->body_len] = '\0';

  http_request request = {
      .method = http_method_str((enum http_method)parser->method),
      .path = path,
      .query = query,
      .authorization = r->authorization_at >= 0 ? r->head + r->authorization_at : "",
      .content_type = r->content_type_at >= 0 ? r->head + r->content_type_at : "",
      .body = r->body ? r->body : "",
      .body_len = r->body_len,
      .peer = r->peer,
  };
  bool close = r->force_close || !http_should_keep_alive(parser);
  /* One request at a time: stop here until the owner resumes. */
  http_parser_pause(parser, 1);
  r->on_request(r->owner, &request, close);
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
  r->body_cap = 0;
  return 0;
}

static const http_parser_settings reader_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_request_reader_init(http_request_reader *r, size_t max_body, http_request_fn on_request,
                              void *owner, const char *peer) {
  memset(r, 0, sizeof *r);
  http_parser_init(&r->parser, HTTP_REQUEST);
  r->parser.data = r;
  r->max_body = max_body;
  r->on_request = on_request;
  r->owner = owner;
  r->peer = peer;
  request_reset(r);
}

size_t http_request_reader_execute(http_request_reader *r, const char *data, size_t len) {
  return http_parser_execute(&r->parser, &reader_settings, data, len);
}

bool http_request_reader_paused(const http_request_reader *r) {
  return HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED;
}

int http_request_reader_error(const http_request_reader *r) {
  enum http_errno error = HTTP_PARSER_ERRNO(&r->parser);
  if (error == HPE_PAUSED || (error == HPE_OK && !r->error_status)) return 0;
  return r->error_status ? r->error_status : 400;
}

void http_request_reader_resume(http_request_reader *r) {
  http_parser_pause(&r->parser, 0);
}

void http_request_reader_free(http_request_reader *r) {
  free(r->body);
  r->body = NULL;
  r->body_len = 0;
  r->body_cap = 0;
}
