// The parts of stageboot's node side that are pure computation: CRCs, the frame codec with
// resynchronisation, record validation and the A/B pick, the acknowledgement window and the
// EEPROM layout plan. No Arduino.h, no AVR registers: the host-side tests compile this file
// with g++ and check it against protocol/vectors/.
#ifndef STAGEBOOT_SB_CORE_H
#define STAGEBOOT_SB_CORE_H

#include <stdint.h>
#include "stageboot_protocol.h"

// Largest chunk the node accepts. Fixed (not per chip) because the frame and page buffers are
// static: 64 B is one 24LC256 page and half a 24LC512 page.
#define SB_MAX_CHUNK 64
// DATA frames the host may have unacknowledged: one in the page buffer (on its way to the
// EEPROM) and one in the frame buffer. A third would have to wait in the core's 64-byte
// serial ring, which one 70-byte DATA frame overflows.
#define SB_WINDOW 2
// Largest frame payload the node takes or sends: a DATA request (chunk index + chunk).
#define SB_MAX_PAYLOAD (2 + SB_MAX_CHUNK)
#define SB_FRAME_BUF (SB_MAX_PAYLOAD + SB_FRAME_OVERHEAD)

uint16_t sb_crc16(uint16_t crc, const uint8_t *p, uint8_t n);
// CRC-32 register form: start with 0xFFFFFFFF, fold bytes, invert at the end.
uint32_t sb_crc32_byte(uint32_t reg, uint8_t b);
uint32_t sb_crc32_fold(uint32_t reg, const uint8_t *p, uint16_t n);
// Complete CRC-32 (init and final xor applied) of a buffer.
uint32_t sb_crc32(const uint8_t *p, uint16_t n);

// Streaming frame decoder. buf[0] is the SOF of the candidate frame, n the bytes held.
// `frame` is the length of the complete frame at the front, noted when it completed: the
// engine writes its reply over the request, so buf[1] no longer says how long the request was.
typedef struct {
  uint8_t n, frame;
  uint8_t buf[SB_FRAME_BUF];
} sb_decoder;

// Feeds one byte. Returns 1 when buf holds a complete frame with a good CRC (the caller
// consumes it, then sets n = 0). Garbage, a length above SB_MAX_PAYLOAD or a bad CRC cost
// only the candidate's SOF: the held bytes are scanned again for the next SOF.
uint8_t sb_dec_push(sb_decoder *d, uint8_t b);
// Consumes the frame at the front; returns 1 if the bytes held behind it complete another.
uint8_t sb_dec_next(sb_decoder *d);
// The line went quiet with a partial frame held (a stray SOF with a plausible length would
// otherwise wait for bytes of later frames): drop its SOF and rescan. Returns 1 on a frame.
uint8_t sb_dec_idle(sb_decoder *d);

// Writes SOF, length, type, seq and the CRC around a payload already at f + SB_FRAME_HEADER.
// Returns the frame's total length.
uint8_t sb_frame_seal(uint8_t *f, uint8_t type, uint8_t seq, uint8_t len);

// A record copy (boot or slot record, `size` bytes with the CRC last) is valid when its CRC
// matches and its state (byte 2) is 1..maxState.
uint8_t sb_rec_valid(const uint8_t *rec, uint8_t size, uint8_t maxState);
// Fills in a record's CRC.
void sb_rec_seal(uint8_t *rec, uint8_t size);

// The A/B rule of STATES.md. Given which copies are valid and their seqs, returns the newest
// (0 = A, 1 = B, SB_PICK_NONE) and sets *nextSeq; a writer writes copy (newest == 0 ? B : A).
#define SB_PICK_NONE 2
uint8_t sb_pick(uint8_t validA, uint16_t seqA, uint8_t validB, uint16_t seqB, uint16_t *nextSeq);

// Checks an image header (magic, format, size, CRC): SB_ST_OK or SB_ST_BAD_HEADER.
uint8_t sb_header_check(const sb_image_header *h);

// Acknowledgement window: cumulative (every chunk below is written) and selective (bit i:
// chunk cum + 1 + i is written).
#define SB_ACK_NEW 0
#define SB_ACK_DUP 1
#define SB_ACK_BEYOND 2
uint8_t sb_ack_classify(uint16_t cum, uint16_t sel, uint16_t chunk);
void sb_ack_mark(uint16_t *cum, uint16_t *sel, uint16_t chunk);

// Plans the layout of protocol/STATES.md for a chip with pages of at most SB_FS_REC_PITCH
// bytes (the 24LC family); returns 0 for a bad slot count. The superblock comes out complete.
uint8_t sb_plan(uint32_t chipSize, uint16_t pageSize, uint8_t slotCount, sb_superblock *sb);
uint8_t sb_default_slots(uint32_t chipSize);

#endif
