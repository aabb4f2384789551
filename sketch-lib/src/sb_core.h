// The pure-computation half of the library: CRCs, the frame decoder with resynchronisation,
// record validation, the A/B pick and the acknowledgement window, plus the one state struct the
// whole library works on. On the AVR the CRCs, frames, records and window are assembly (sb_*.S);
// the C versions here are the host build's, which test/sketch-lib/vectors.test.ts checks.
//
// Not an ordinary header: it holds static functions and their state, and exactly one
// translation unit includes it (StageBoot.cpp on the AVR; test/sketch-lib/host/vectors.cpp on
// the host, which checks it against protocol/vectors/). One unit lets GCC inline and drop
// freely, and plain statics need no pointers passed around: the library must stay within
// 3 KiB of flash. No Arduino.h and no AVR registers here.
#ifndef STAGEBOOT_SB_CORE_H
#define STAGEBOOT_SB_CORE_H

#include <stdint.h>
#include <string.h>
#include "stageboot_protocol.h"

#ifdef __AVR__
// EEPROM addresses and sizes need 17 bits (a 24LC1025 holds 128 KiB): 3-byte arithmetic.
typedef __uint24 sb_u24;
#else
typedef uint32_t sb_u24;
#endif

// SB_MAX_CHUNK, SB_MAX_PAYLOAD: sb_config.h (64 B chunks, or 128 for EEPROMs with
// 128-byte pages).
#include "sb_config.h"
#define SB_FRAME_BUF (SB_MAX_PAYLOAD + SB_FRAME_OVERHEAD)

class Print;

// Everything the library remembers. One instance per sketch (one bootloader, one EEPROM).
// The assembly reaches it through the offsets in sb_state.h (StageBoot.cpp checks them).
typedef struct {
  sb_u24 slotSize;    // bytes per slot data area (from the superblock)
  uint16_t dataStart; // slot 0's data area (from the superblock)
  uint16_t cum, sel;  // acks: chunks below cum are written; bit i: chunk cum + 1 + i is
  uint8_t reboot, rlen, held, lastRx;
  Print *heldOut;
  // the ACK of the chunk last written (pbMode: what still has to happen before it goes; pbLen
  // 0: the EEPROM gave up, the host resends), to the DATA frame pbSeq, through pbOut
  uint8_t pbMode, pbLen, pbSeq;
  Print *pbOut;
  // the transfer under way (xSlot = NO_SLOT: none): chunk size 1 << xShift, payload length,
  // chunk count, progress last persisted, the slot's data area
  uint8_t xSlot, xShift;
  uint16_t xLen, xCount, xSaved;
  sb_u24 xAddr;
  // InfoReply's pageSize .. appLen, in its order, so INFO copies them in one run
  uint8_t page, slots; // EEPROM page size; slots, 0 while the EEPROM holds no usable superblock
  uint32_t chip;       // EEPROM size
  uint32_t appVersion, appCrc, appLen; // the running image
#if SB_MAX_CHUNK == 64
  uint16_t pbChunk; // the chunk in the page buffer: its index and EEPROM address
  sb_u24 pbAddr;
#endif
} sb_state;

#ifdef __AVR__
extern "C" sb_state sb_S; // shared with the assembly (offsets: sb_state.h)
sb_state sb_S;
// Shared with the assembly (sb_crc.S), hence not static.
extern "C" uint8_t sb_f[SB_FRAME_BUF], sb_fn, sb_newest;
extern "C" uint32_t sb_crc;
extern "C" uint16_t sb_rseq;
uint8_t sb_f[SB_FRAME_BUF], sb_fn, sb_newest;
uint32_t sb_crc;
uint16_t sb_rseq;
#else
static sb_state sb_S;
static uint8_t sb_f[SB_FRAME_BUF], sb_fn, sb_newest;
static uint32_t sb_crc;
static uint16_t sb_rseq;
#endif
// sb_newest: the copy holding the record last read (0 = A, 1 = B, 2 = none); sb_rseq: the seq
// of the next write of that record.
// sb_f: the frame buffer, sb_f[0] is the SOF of the candidate frame; sb_fn bytes are held.
// sb_crc: the CRC-32 register (~0, fold bytes, invert at the end).

// `sb_state *s = SB();`: through a pointer the compiler cannot see through, fields are reached
// with 2-byte displacement loads and stores instead of 4-byte absolute ones.
#ifdef __AVR__
#define SB_HIDE(p) __asm__("" : "+b"(p))
#define SB_OPAQUE(v) __asm__("" : "+r"(v)) // keeps GCC from turning a loop into a multiply or divide
#else
#define SB_HIDE(p) (void)0
#define SB_OPAQUE(v) (void)0
#endif
static inline sb_state *SB(void) {
  return &sb_S;
}
static inline sb_state *SBH(void) {
  sb_state *s = &sb_S;
  SB_HIDE(s);
  return s;
}

// Little-endian field access (AVR and x86 alike).
static inline uint16_t sb_rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline uint32_t sb_rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline void sb_wr16(uint8_t *p, uint16_t v) {
  memcpy(p, &v, 2);
}
static inline void sb_wr32(uint8_t *p, uint32_t v) {
  memcpy(p, &v, 4);
}

// ---- CRC-16/CCITT-FALSE (frames) and CRC-32/ISO-HDLC (images, records), both bitwise: a
// table would cost more flash than the whole frame codec. On the AVR they are assembly
// (sb_crc.S); these C versions are the host build's, checked against protocol/vectors/.
//   sb_crc16(p, n)        CRC-16 of n (>= 1) bytes
//   sb_crc_fold(p, n)     folds n (>= 1) bytes into sb_crc
//   sb_crc_ok(p, n, put)  put = 0: whether the 4 bytes after p[0..n) hold their CRC-32
//                         (little-endian); folding a message and its CRC leaves the register
//                         at a constant, so there is nothing to compare. put = 1: stores it.

#ifdef __AVR__
extern "C" uint16_t sb_crc16(const uint8_t *p, uint8_t n);
extern "C" void sb_crc_fold(const uint8_t *p, uint8_t n);
extern "C" uint8_t sb_crc_ok(uint8_t *p, uint8_t n, uint8_t put);
#else
static uint16_t sb_crc16(const uint8_t *p, uint8_t n) {
  uint16_t crc = 0xFFFF;
  while (n--) {
    crc ^= (uint16_t)(*p++) << 8;
    for (uint8_t k = 0; k < 8; k++) crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

static void sb_crc_fold(const uint8_t *p, uint8_t n) {
  uint32_t c = sb_crc;
  while (n--) {
    c ^= *p++;
    for (uint8_t k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0xEDB88320UL : c >> 1;
  }
  sb_crc = c;
}

static uint8_t sb_crc_ok(uint8_t *p, uint8_t n, uint8_t put) {
  sb_crc = 0xFFFFFFFFUL;
  if (put) {
    sb_crc_fold(p, n);
    sb_wr32(p + n, ~sb_crc);
    return 1;
  }
  sb_crc_fold(p, n + 4);
  return sb_crc == 0xDEBB20E3UL;
}
#endif

// ---- Frames: 0x7E | len | type | seq | payload | crc16 lo hi (protocol/WIRE.md). On the AVR
// they are assembly (sb_frame.S); these C versions are the host build's.
//   sb_seal(f, type, seq, len)  seals the frame whose payload is at f + 4; returns its length
//   sb_drop(skip)               drops `skip` held bytes and everything up to the next SOF, then
//                               looks for a complete frame with a good CRC at the front (a
//                               candidate that fails costs only its SOF); 1 when sb_f holds one
//   sb_push(b)                  one received byte; 1 when it completes a frame (consume it,
//                               then call sb_next)
//   sb_next()                   consumes the frame at the front; 1 if the bytes behind it
//                               complete another
//   sb_idle()                   the line went quiet with a partial frame held (a stray SOF with
//                               a plausible length would otherwise wait for bytes of later
//                               frames): drops its SOF and rescans; 1 on a frame

#ifdef __AVR__
extern "C" uint8_t sb_seal(uint8_t *f, uint8_t type, uint8_t seq, uint8_t len);
extern "C" uint8_t sb_drop(uint8_t skip);
extern "C" uint8_t sb_push(uint8_t b);
extern "C" uint8_t sb_next(void);
extern "C" uint8_t sb_idle(void);
#else

// Seals the frame whose payload is already at f + SB_FRAME_HEADER; returns its total length.
static uint8_t sb_seal(uint8_t *f, uint8_t type, uint8_t seq, uint8_t len) {
  f[0] = SB_FRAME_SOF;
  f[1] = len;
  f[2] = type;
  f[3] = seq;
  sb_wr16(f + len + 4, sb_crc16(f + 1, len + 3));
  return len + SB_FRAME_OVERHEAD;
}

// Drops `skip` held bytes and everything up to the next SOF, then looks for a complete frame
// with a good CRC at the front. A candidate that fails costs only its SOF: a real frame may
// start inside its bytes. Returns 1 when sb_f holds a frame.
static uint8_t sb_drop(uint8_t skip) {
  uint8_t *f = sb_f;
  for (;;) {
    uint8_t n = sb_fn, i = skip < n ? skip : n; // never past what is held (n would wrap)
    while (i < n && f[i] != SB_FRAME_SOF) i++;
    n -= i;
    sb_fn = n;
    for (uint8_t k = 0; k < n; k++) f[k] = f[k + i];
    if (n < 2) return 0;
    uint8_t len = f[1];
    if (len <= SB_MAX_PAYLOAD) {
      if (n < len + SB_FRAME_OVERHEAD) return 0;
      if (sb_crc16(f + 1, len + 3) == sb_rd16(f + len + 4)) return 1;
    }
    skip = 1;
  }
}

// One received byte; 1 when it completes a frame (consume it, then call sb_next).
static uint8_t sb_push(uint8_t b) {
  if (!sb_fn && b != SB_FRAME_SOF) return 0;
  sb_f[sb_fn++] = b;
  return sb_drop(0);
}

// Consumes the frame at the front; 1 if the bytes held behind it complete another.
static uint8_t sb_next(void) {
  return sb_drop(sb_f[1] + SB_FRAME_OVERHEAD);
}

// The line went quiet with a partial frame held (a stray SOF with a plausible length would
// otherwise wait for bytes of later frames): drop its SOF and rescan. 1 on a frame.
static uint8_t sb_idle(void) {
  return sb_fn ? sb_drop(1) : 0;
}
#endif

// ---- Records (protocol/STATES.md): CRC-32 last, state 1..4, two copies, the valid one with
// the newer seq wins. The reader offers copy B, then copy A, to sb_pick (after sb_pick_start:
// this is the host build's version; the AVR's is sb_rec_load in sb_rec.S);
// newest then names the record's copy (A on a tie) and rseq the seq of the next write, which
// goes to copy !newest (A when there is none).

#define SB_MAX_STATE 4 // SB_BOOT_TRIAL and SB_SLOT_BAD: the largest state of either record

static uint8_t sb_rec_valid(uint8_t *rec, uint8_t size) {
  return (uint8_t)(rec[2] - 1) < SB_MAX_STATE && sb_crc_ok(rec, size - 4, 0);
}

static void sb_pick_start(void) {
  sb_newest = 2;
  sb_rseq = 1;
}

// Returns 1 when the copy is the newest so far.
static uint8_t sb_pick(uint8_t copy, uint8_t *rec, uint8_t size) {
  uint16_t seq = sb_rd16(rec);
  if (!sb_rec_valid(rec, size) || (sb_newest != 2 && (int16_t)(seq - sb_rseq) < 0)) return 0;
  sb_newest = copy;
  sb_rseq = seq + 1;
  return 1;
}

// An image header is well formed: magic, format, size and CRC.
static uint8_t sb_header_ok(uint8_t *h) {
  return sb_rd32(h) == SB_IMAGE_MAGIC && sb_rd16(h + SB_IMAGE_HEADER_OFF_FORMAT) == (SB_IMAGE_FORMAT | SB_IMAGE_HEADER_SIZE << 8) &&
         sb_crc_ok(h, SB_IMAGE_HEADER_OFF_HEADER_CRC, 0);
}

// ---- Acknowledgement window (protocol/WIRE.md).

#define SB_ACK_NEW 0
#define SB_ACK_DUP 1
#define SB_ACK_BEYOND 2

static uint8_t sb_ack_class(uint16_t chunk) {
  sb_state *s = SB();
  uint16_t i = chunk - s->cum;
  if (chunk < s->cum) return SB_ACK_DUP;
  if (!i) return SB_ACK_NEW;
  if (--i >= SB_ACK_WINDOW) return SB_ACK_BEYOND;
  return (s->sel >> i) & 1;
}

static void sb_ack_mark(uint16_t chunk) {
  sb_state *s = SBH();
  uint16_t sel = s->sel;
  if (chunk == s->cum) {
    // The new cumulative slides over the chunks after it that are written already.
    for (;;) {
      s->cum++;
      uint8_t written = sel & 1;
      sel >>= 1;
      if (!written) break;
    }
  } else {
    sel |= (uint16_t)(1u << (chunk - s->cum - 1));
  }
  s->sel = sel;
}

#endif
