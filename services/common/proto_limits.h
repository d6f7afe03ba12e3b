/* proto_limits: protobuf decode with a hard size limit.
 *
 * protobuf-c's unpack has no size or depth limit of its own, so every value
 * read from Kafka goes through here: inputs over the limit are refused before
 * any parsing, and the rest are unpacked with the given descriptor. None of
 * Lindung's messages is recursive, so the size bounds the work. */
#ifndef LINDUNG_PROTO_LIMITS_H
#define LINDUNG_PROTO_LIMITS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Largest value any Lindung topic carries (a ScanRequest is under 1.2 KiB). */
#define PROTO_MAX_MESSAGE_BYTES 4096

typedef enum proto_decode_status {
  PROTO_DECODE_OK = 0,
  PROTO_DECODE_EMPTY,     /* zero bytes */
  PROTO_DECODE_TOO_LARGE, /* over the limit, not parsed */
  PROTO_DECODE_INVALID,   /* not a valid message of this type */
} proto_decode_status;

/* Unpacks into *out (free with protobuf_c_message_free_unpacked). */
proto_decode_status proto_decode(const ProtobufCMessageDescriptor *descriptor, const void *data,
                                 size_t len, size_t limit, ProtobufCMessage **out);

/* A short fixed reason for logs and dead letters ("too_large", ...). */
const char *proto_decode_reason(proto_decode_status status);

#endif
