/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wire.h - building and checking the frames of include/uapi/mosingar/
 * protocol.h.  A frame is parsed into checked fields before anything acts
 * on it: wire_reader never reads past the payload, a string field must be
 * NUL-free and within its bound, and any violation leaves the reader "bad"
 * so the caller drops the connection with wire_reader_why().
 */
#ifndef MOS_WIRE_H
#define MOS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mosingar/protocol.h>

/* A frame being built: header space first, then the payload. */
struct wire_buf {
	uint8_t *p;
	size_t len; /* header + payload so far */
	size_t cap;
};

void wire_buf_start(struct wire_buf *b, uint8_t type, uint16_t flags, uint32_t id);
void wire_put(struct wire_buf *b, const void *data, size_t len); /* raw (a fixed body) */
void wire_put_var(struct wire_buf *b, const void *data, size_t len);
void wire_put_str(struct wire_buf *b, const char *s);
/* Fill in the header's length; returns the whole frame's size, or 0 when the
 * payload exceeds MOS_FRAME_MAX (a bug in the caller: never sent). */
size_t wire_buf_finish(struct wire_buf *b);
void wire_buf_free(struct wire_buf *b);

/* Check a received header: NULL if good, else why not. */
const char *wire_hdr_check(const struct mos_frame_hdr *h);

struct wire_reader {
	const uint8_t *p;
	size_t len, off;
	const char *why; /* first violation, or NULL */
};

void wire_reader_init(struct wire_reader *r, const void *payload, size_t len);
/* Copy a fixed body of SIZE bytes into OUT. */
bool wire_get(struct wire_reader *r, void *out, size_t size);
/* A variable field: pointer into the payload and its length (<= MAX). */
bool wire_get_var(struct wire_reader *r, const void **data, size_t *len, size_t max);
/* A string field, NUL-free, <= MAX bytes: a malloc'd copy with a NUL. */
bool wire_get_str(struct wire_reader *r, char **out, size_t max);
/* True when every byte has been consumed (else marks the reader bad). */
bool wire_end(struct wire_reader *r);
const char *wire_reader_why(const struct wire_reader *r);

/* Incremental frame assembly from a byte stream. */
struct frame_asm {
	uint8_t hdr[sizeof(struct mos_frame_hdr)];
	size_t have;	  /* bytes of the current frame received */
	uint8_t *payload; /* allocated once the header is known */
	const char *why;  /* set on a bad header: the stream is unusable */
};

/*
 * Consume bytes from BUF (LEN); returns how many were used.  When a frame is
 * complete, *DONE is set, HDR and *PAYLOAD (malloc'd, caller frees) are
 * filled and the assembler is reset.  On a bad header returns 0 with
 * A->why set.
 */
size_t frame_asm_feed(struct frame_asm *a, const uint8_t *buf, size_t len, bool *done,
		      struct mos_frame_hdr *hdr, uint8_t **payload);
void frame_asm_free(struct frame_asm *a);

const char *wire_msg_name(unsigned type);

/* The HELLO each side sends first (ROLE: 1 origin, 2 worker), and its check:
 * NULL when PAYLOAD is a HELLO from a peer of role WANT_ROLE, else why not. */
void wire_hello_build(struct wire_buf *b, uint16_t role);
/* The feature bits that HELLO carries for ROLE. */
uint64_t wire_features(uint16_t role);
const char *wire_hello_check(const uint8_t *payload, size_t len, uint16_t want_role);
/* The peer's feature bits (enum mos_hello_features) of a checked HELLO. */
uint64_t wire_hello_features(const uint8_t *payload, size_t len);

#endif /* MOS_WIRE_H */
