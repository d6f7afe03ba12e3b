/* proto_limits: every protobuf value read from Kafka is decoded here, so the
 * size limit is checked in one place before protobuf-c sees a byte. */
#include "proto_limits.h"

proto_decode_status proto_decode(const ProtobufCMessageDescriptor *descriptor, const void *data,
                                 size_t len, size_t limit, ProtobufCMessage **out) {
  if (out) *out = NULL;
  /* An empty value is a valid empty proto3 message, but no Lindung message
   * is meaningful without fields: a producer that sent nothing is broken. */
  if (len == 0) return PROTO_DECODE_EMPTY;
  if (len > limit) return PROTO_DECODE_TOO_LARGE;
  if (!descriptor || !data || !out) return PROTO_DECODE_INVALID;
  ProtobufCMessage *message = protobuf_c_message_unpack(descriptor, NULL, len, data);
  if (!message) return PROTO_DECODE_INVALID;
  *out = message;
  return PROTO_DECODE_OK;
}

const char *proto_decode_reason(proto_decode_status status) {
  switch (status) {
    case PROTO_DECODE_OK:
      return "ok";
    case PROTO_DECODE_EMPTY:
      return "empty";
    case PROTO_DECODE_TOO_LARGE:
      return "too_large";
    case PROTO_DECODE_INVALID:
      return "not_protobuf";
  }
  return "not_protobuf";
}
