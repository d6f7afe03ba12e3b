/* Fuzzes `lindung-audit verify --capture`: the reader of audit.log
 * captures (audit_cli_verify_stream: hex lines, AuditLogEntry decoding,
 * records and checkpoints, the dedupe of republished records, the chain
 * walk and the checkpoint signatures). Checks that it always ends with one
 * of its three exit statuses.
 *
 * Input: one mode byte. Even: the rest is the capture file as is. Odd: the
 * rest is a sequence of audit.log messages, each two length bytes
 * (big-endian) and the value, written here as the hex lines
 * lindung-audit-tail --raw prints (so the fuzzer works on the messages, not
 * on their hex). */
#include <string.h>

#include "../../services/audit/audit_cli.h"
#include "fuzz.h"

static char *text;
static size_t text_cap;

static size_t capture_text(fuzz_reader *r) {
  size_t need = r->len * 3 + 1;
  if (need > text_cap) {
    free(text);
    text = malloc(need);
    FUZZ_ASSERT(text);
    text_cap = need;
  }
  size_t at = 0;
  while (r->len > 0) {
    size_t want = (size_t)fuzz_byte(r) << 8;
    want |= fuzz_byte(r);
    size_t len;
    const uint8_t *value = fuzz_bytes(r, want, &len);
    hex_encode(value, len, text + at);
    at += 2 * len;
    text[at++] = '\n';
  }
  return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool quiet;
  if (!quiet) {
    /* verify prints its report and one line per refused input: keep the
     * fuzzer's own output readable. libFuzzer and the sanitizers report on
     * the original stderr, which they hold already. */
    stdout = fopen("/dev/null", "w");
    stderr = stdout;
    FUZZ_ASSERT(stdout);
    quiet = true;
  }
  fuzz_reader r = {data, size};
  bool messages = fuzz_byte(&r) & 1;
  static char empty_line[] = "\n"; /* fmemopen takes no empty buffer */
  FILE *f;
  if (messages) {
    size_t len = capture_text(&r);
    f = len ? fmemopen(text, len, "r") : fmemopen(empty_line, 1, "r");
  } else {
    f = r.len ? fmemopen((void *)r.data, r.len, "r") : fmemopen(empty_line, 1, "r");
  }
  FUZZ_ASSERT(f);
  int status = audit_cli_verify_stream(f, "capture", NULL, false);
  FUZZ_ASSERT(status == 0 || status == 1 || status == 2);
  fclose(f);
  return 0;
}
