/*
 * base85 as Python's base64.b85encode/b85decode do it (RFC 1924 alphabet, the one git uses):
 * the encoding of read_transport's and write_transport's `data` (PROJECT_API.md section 5).
 * No allocation: callers pass buffers sized with b85_encoded_len / b85_decoded_len.
 */
#ifndef MTQ_B85_H
#define MTQ_B85_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* The length of the encoding of n bytes: 5 characters per whole 4-byte group, k+1 for a final
 * group of k bytes. */
size_t b85_encoded_len(size_t n);

/* Encodes n bytes (data may be NULL when n is 0) into out, which must have room for
 * b85_encoded_len(n) characters; writes no NUL. Returns the number of characters written. */
size_t b85_encode(const void *data, size_t n, char *out);

/* The number of bytes len characters of valid base85 decode to (4 per 5, k-1 for a final group
 * of k); a buffer this big is enough for b85_decode whatever the text holds. */
size_t b85_decoded_len(size_t len);

/* Decodes len characters of text into out (room for b85_decoded_len(len) bytes; may be NULL
 * when that is 0); *got gets the number of bytes. Fails with ERR_PARAMS and a message naming
 * the position of the first character that is not in the alphabet, of a 5-character group worth
 * more than 2^32-1, or of a dangling single final character (which no encoder produces; Python
 * drops it silently). out may hold partial output on failure. */
int b85_decode(const char *text, size_t len, void *out, size_t *got, struct err *err);

#endif
