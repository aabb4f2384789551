// The node side of protocol/WIRE.md and the record rules of protocol/STATES.md on the
// ATmega328P: transport glue, protocol engine and a polled TWI master in one translation unit
// with sb_core.h, written for flash size (the library must add at most 3 KiB to a sketch).
//
// Buffers: the frame buffer (sb_f) holds one request and is reused for its reply. The page
// buffer (pb) holds either one chunk on its way to the EEPROM or one record being read,
// patched and written; it also carries the ACK of a chunk handed to the EEPROM. A DATA frame
// is acknowledged once its bytes are in the EEPROM's page buffer: the write cycle then runs on
// its own while the next chunk travels, which is what keeps the line busy.
// A direct build (STAGEBOOT_MAX_CHUNK=128, sb_config.h) has a 136-byte frame buffer and no room
// for a chunk in pb (56 bytes: records and ACKs only): a chunk goes to the EEPROM straight from
// the frame buffer once its CRC checks (the serial ring takes what arrives meanwhile), and its
// ACK waits for the write cycle, so the next chunk finds the EEPROM ready when it arrives.
//
// Blocking: the DATA path never waits for the EEPROM (one attempt per poll). Requests the host
// waits on may: INFO, BEGIN, FORMAT for a write cycle or a few, END for the CRC of the slot
// (about 1 s for 32 KiB), a TRIAL activation for the copy of the running image (a few
// seconds). The host allows for them (its END and ACTIVATE timeouts grow with the size).
//
// Sharing the bus with Wire: every EEPROM transaction saves TWBR, the TWSR prescaler and TWCR,
// runs at 400 kHz with the TWI interrupt off (so Wire's ISR never sees our bus states), ends
// with a STOP and puts the three registers back. Wire's 32-byte buffer is never used, so
// 64- and 128-byte page writes go through whole.
#include "StageBoot.h"
#include "sb_core.h"
#include "sb_state.h"
#include <stddef.h>

// The assembly reaches the state through the offsets of sb_state.h.
static_assert(offsetof(sb_state, chip) == SB_S_CHIP, "sb_state.h: chip");
static_assert(offsetof(sb_state, slotSize) == SB_S_SLOT_SIZE, "sb_state.h: slotSize");
static_assert(offsetof(sb_state, dataStart) == SB_S_DATA_START, "sb_state.h: dataStart");
static_assert(offsetof(sb_state, page) == SB_S_PAGE, "sb_state.h: page");
static_assert(offsetof(sb_state, cum) == SB_S_CUM, "sb_state.h: cum");
static_assert(offsetof(sb_state, sel) == SB_S_SEL, "sb_state.h: sel");
static_assert(offsetof(sb_state, slots) == SB_S_SLOTS, "sb_state.h: slots");
static_assert(offsetof(sb_state, reboot) == SB_S_REBOOT, "sb_state.h: reboot");
static_assert(offsetof(sb_state, rlen) == SB_S_RLEN, "sb_state.h: rlen");
static_assert(offsetof(sb_state, held) == SB_S_HELD, "sb_state.h: held");
static_assert(offsetof(sb_state, lastRx) == SB_S_LAST_RX, "sb_state.h: lastRx");
static_assert(offsetof(sb_state, heldOut) == SB_S_HELD_OUT, "sb_state.h: heldOut");
static_assert(offsetof(sb_state, pbMode) == SB_S_PB_MODE, "sb_state.h: pbMode");
static_assert(offsetof(sb_state, pbLen) == SB_S_PB_LEN, "sb_state.h: pbLen");
static_assert(offsetof(sb_state, pbSeq) == SB_S_PB_SEQ, "sb_state.h: pbSeq");
static_assert(offsetof(sb_state, pbOut) == SB_S_PB_OUT, "sb_state.h: pbOut");
static_assert(offsetof(sb_state, xSlot) == SB_S_X_SLOT, "sb_state.h: xSlot");
static_assert(offsetof(sb_state, xNewest) == SB_S_X_NEWEST, "sb_state.h: xNewest");
static_assert(offsetof(sb_state, xChunk) == SB_S_X_CHUNK, "sb_state.h: xChunk");
static_assert(offsetof(sb_state, xShift) == SB_S_X_SHIFT, "sb_state.h: xShift");
static_assert(offsetof(sb_state, xNext) == SB_S_X_NEXT, "sb_state.h: xNext");
static_assert(offsetof(sb_state, xLen) == SB_S_X_LEN, "sb_state.h: xLen");
static_assert(offsetof(sb_state, xCount) == SB_S_X_COUNT, "sb_state.h: xCount");
static_assert(offsetof(sb_state, xSaved) == SB_S_X_SAVED, "sb_state.h: xSaved");
static_assert(offsetof(sb_state, xAddr) == SB_S_X_ADDR, "sb_state.h: xAddr");
static_assert(offsetof(sb_state, appVersion) == SB_S_APP_VERSION, "sb_state.h: appVersion");
static_assert(offsetof(sb_state, appCrc) == SB_S_APP_CRC, "sb_state.h: appCrc");
static_assert(offsetof(sb_state, appLen) == SB_S_APP_LEN, "sb_state.h: appLen");
#if !SB_DIRECT
static_assert(offsetof(sb_state, pbChunk) == SB_S_PB_CHUNK, "sb_state.h: pbChunk");
static_assert(offsetof(sb_state, pbAddr) == SB_S_PB_ADDR, "sb_state.h: pbAddr");
#endif
static_assert(sizeof(sb_state) == SB_S_SIZE, "sb_state.h: size");
#include <avr/boot.h>
#include <avr/pgmspace.h>
#include <avr/wdt.h>

// Rewrite the receiving slot's progress after this many newly written payload bytes: 32 full
// chunks (32 pages of a 24LC256, 2 KiB; of a 24LC512 in a 128 build, 4 KiB). Each rewrite costs
// a write cycle or two, and stalls the line for about one in a direct build; a reset resends at
// most this much.
#define PERSIST_BYTES (32 * SB_MAX_CHUNK)
// A partial frame older than this (ms, after its last byte) is dropped: see WIRE.md.
#define IDLE_MS 3

extern "C" volatile unsigned long timer0_millis; // wiring.c; its low byte is our idle clock
extern const char __data_load_end[];             // end of .text + .data: this image's length

#if SB_DIRECT
#define SB_PB_SIZE SB_SLOT_RECORD_SIZE // the largest record
#else
#define SB_PB_SIZE SB_MAX_CHUNK
#endif
extern "C" uint8_t sb_pb[SB_PB_SIZE]; // shared with sb_rec.S
uint8_t sb_pb[SB_PB_SIZE];
// The page buffer through a pointer: displacement stores for the records built in it.
#define PB(v)           \
  uint8_t *v = sb_pb;   \
  SB_HIDE(v)

enum { PB_FREE, PB_CHUNK, PB_PERSIST, PB_ACK };

// ---- TWI master.

#define IO_OK 0
#define IO_BUSY 1 // the chip NACKed its address: a write cycle runs
#define IO_ERROR 2
#define OP_WRITE 0 // one attempt
#define OP_WAIT 1  // ACK-polls a running write cycle out first (bounded)
#define OP_READ 3  // (waits too)
#define OP_BANK 4  // the upper 64 KiB of a 24LC1025 (bit 2 of its device address)

// sb_twi.S
extern "C" uint8_t sb_ee(uint16_t a, uint8_t *p, uint8_t n, uint8_t op);
extern "C" uint8_t sb_i2c, sb_err; // the EEPROM's 7-bit address; an EEPROM error happened
uint8_t sb_i2c, sb_err;
#define ee sb_ee

extern "C" uint8_t sb_ee_at(sb_u24 a, uint8_t *p, uint8_t n, uint8_t op) {
  return ee((uint16_t)a, p, n, op | (uint8_t)(a >> 16) << 2);
}

extern "C" uint16_t sb_app_max(void) {
  // BOOTSZ1:0 (high fuse bits 2:1): 00 = 4 KiB boot section ... 11 = 512 B
  uint8_t bootsz = (boot_lock_fuse_bits_get(GET_HIGH_FUSE_BITS) >> 1) & 3;
  return 0x8000 - (0x1000 >> bootsz);
}

// ---- Records. r: 0 = boot record, 1 + i = slot i; copy c at (1 + 2r + c) x pitch.

static uint8_t recSize(uint8_t r) {
  return r ? SB_SLOT_RECORD_SIZE : SB_BOOT_RECORD_SIZE;
}

// sb_rec.S: copy c of record r into pb; the newest valid copy of record r into pb (zeros if
// none) returning its state (0: none); pb as the next version of record r (seq, CRC) into the
// copy that does not hold the newest one.
extern "C" uint8_t sb_rec_read(uint8_t r, uint8_t c);
extern "C" uint8_t sb_rec_load(uint8_t r);
extern "C" void sb_rec_store(uint8_t r);
#define recRead sb_rec_read
#define recLoad sb_rec_load
#define recStore sb_rec_store

// The boot record into pb, NO_SLOT in its slot fields when there is none; returns its state.
extern "C" uint8_t sb_boot_load(void) {
  PB(p);
  uint8_t st = recLoad(0);
  if (!st) p[4] = p[5] = p[6] = SB_NO_SLOT;
  return st;
}

// The boot record with these fields in pb, to be written with recStore(0).
extern "C" void sb_boot_set(uint8_t state, uint8_t flags, uint8_t slot, uint8_t backup, uint8_t result) {
  PB(p);
  sb_boot_load();
  p[SB_BOOT_RECORD_OFF_STATE] = state;
  p[SB_BOOT_RECORD_OFF_FLAGS] = flags;
  p[SB_BOOT_RECORD_OFF_SLOT] = slot;
  p[SB_BOOT_RECORD_OFF_BACKUP] = backup;
  p[SB_BOOT_RECORD_OFF_RESULT] = result;
  p[SB_BOOT_RECORD_OFF_ATTEMPTS] = 0;
}

// SlotRole bits of slot i, from the boot record.
extern "C" uint8_t sb_role_of(uint8_t i) {
  PB(p);
  uint8_t st = sb_boot_load(), role = 0;
  if (p[SB_BOOT_RECORD_OFF_CURRENT] == i) role = SB_ROLE_CURRENT;
  if ((st == SB_BOOT_PENDING || st == SB_BOOT_INSTALLING) && p[SB_BOOT_RECORD_OFF_SLOT] == i) role |= SB_ROLE_PENDING;
  if (st == SB_BOOT_TRIAL && p[SB_BOOT_RECORD_OFF_BACKUP] == i) role |= SB_ROLE_BACKUP;
  return role;
}
#define IN_USE (SB_ROLE_PENDING | SB_ROLE_BACKUP)

extern "C" sb_u24 sb_data_addr(uint8_t i) {
  sb_state *s = SB();
  sb_u24 a = s->dataStart;
  while (i--) {
    a += s->slotSize;
    SB_OPAQUE(a); // a loop, not a call to the 24-bit multiply
  }
  return a;
}

// A fresh version of slot i's record in pb (not yet written): state, progress 0, no header.
extern "C" void sb_slot_init(uint8_t i, uint8_t state) {
  PB(p);
  recLoad(i + 1);
  memset(p, 0, SB_SLOT_RECORD_SIZE);
  p[SB_SLOT_RECORD_OFF_STATE] = state;
  sb_u24 a = sb_data_addr(i);
  memcpy(p + SB_SLOT_RECORD_OFF_DATA_ADDR, &a, 3);
  memcpy(p + SB_SLOT_RECORD_OFF_CAPACITY, &SB()->slotSize, 3);
}

extern "C" uint16_t sb_progress(void) {
  sb_state *s = SBH();
  uint16_t n = s->cum * s->xChunk;
  return n > s->xLen ? s->xLen : n;
}

// Rewrites the receiving slot's record with the current progress. The payload pages it claims
// are written: the chip finishes one write cycle before it takes the next.
extern "C" void sb_persist(void) {
  sb_state *s = SB();
  PB(p);
  uint8_t r = s->xSlot + 1;
  recRead(r, s->xNewest);
  if (!sb_rec_valid(p, SB_SLOT_RECORD_SIZE)) {
    s->xSlot = SB_NO_SLOT; // unreadable: stop; a new BEGIN finds what the EEPROM holds
    return;
  }
  uint16_t n = sb_progress();
  sb_wr16(p + SB_SLOT_RECORD_OFF_PROGRESS, n);
  sb_newest = s->xNewest;
  sb_rseq = s->xNext;
  recStore(r);
  s->xNewest = sb_newest;
  s->xNext = sb_rseq;
  s->xSaved = n;
}

// sb_crc.S: walks len bytes in 64-byte blocks staged in the end of the frame buffer (the
// request's fields there have been read; pb keeps its record), sb_crc starting at ~0: from flash
// (EE_COPY: into the EEPROM at a; FLASH_CRC: into sb_crc) or from the EEPROM at a into sb_crc
// (EE_CRC).
#define FLASH_CRC 0
#define EE_COPY 1
#define EE_CRC 2
extern "C" void sb_blocks(sb_u24 a, uint16_t len, uint8_t mode);
#define blocks sb_blocks
// sb_crc.S: folds the 4 bytes of a CRC-32 the register should hold: 1 when it did.
extern "C" uint8_t sb_crc_match(const uint8_t *crc);
#define crcMatches sb_crc_match

// END's check: the CRC-32 of slot i's len payload bytes from the EEPROM (into sb_f + 8, the
// crc field of END's reply); the slot becomes STAGED if it matches its header, else BAD.
extern "C" uint8_t sb_finish(uint8_t i, uint16_t len) {
  PB(p);
  recLoad(i + 1);
  blocks(sb_data_addr(i), len, EE_CRC);
  sb_wr32(sb_f + SB_FRAME_HEADER + SB_END_REPLY_OFF_CRC, ~sb_crc);
  uint8_t ok = crcMatches(p + SB_SLOT_RECORD_OFF_HEADER + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC);
  p[SB_SLOT_RECORD_OFF_STATE] = ok ? SB_SLOT_STAGED : SB_SLOT_BAD;
  sb_wr16(p + SB_SLOT_RECORD_OFF_PROGRESS, len);
  recStore(i + 1);
  return ok ? SB_ST_OK : SB_ST_BAD_CRC;
}

// ---- Frames out: the payload is already at f + SB_FRAME_HEADER.

extern "C" void sb_send(Print *out, uint8_t *f, uint8_t type, uint8_t seq, uint8_t len) {
  uint8_t n = sb_seal(f, type | SB_REPLY_BIT, seq, len);
  if (out) out->write(f, n);
}

extern "C" void __attribute__((noinline)) sb_send_ack(Print *out, uint8_t *f, uint8_t seq, uint8_t st) {
  sb_state *s = SB();
  f[4] = st;
  f[5] = 0;
  memcpy(f + 6, &s->cum, 4); // cumulative, selective
  sb_send(out, f, SB_MSG_DATA, seq, SB_ACK_REPLY_SIZE);
}

extern "C" void __attribute__((noinline)) sb_reboot(Print *out) {
  if (out) out->flush(); // let the reply leave the UART first
  wdt_enable(WDTO_15MS);
  for (;;) {
  }
}

// ---- The page buffer on its way to the EEPROM. op: OP_WRITE (one attempt per EEPROM
// operation, returns while the chip is busy) or OP_WAIT.
extern "C" void __attribute__((noinline)) sb_pump(uint8_t op) {
  sb_state *s = SBH();
  PB(p);
#if !SB_DIRECT
  if (s->pbMode == PB_CHUNK) {
    // A chunk is a power of two that divides the page size: it never straddles two pages.
    uint8_t e = sb_ee_at(s->pbAddr, p, s->pbLen, op);
    if (e == IO_BUSY) return;
    if (e) s->pbLen = 0; // given up: the host resends the chunk
    else sb_ack_mark(s->pbChunk);
    s->pbMode = sb_progress() >= s->xSaved + PERSIST_BYTES ? PB_PERSIST : PB_ACK;
  }
#endif
  if (s->pbMode == PB_PERSIST) {
    if (ee(0, 0, 0, op) == IO_BUSY) return; // the chunk's write cycle still runs
    sb_persist();
#if SB_DIRECT
    s->pbMode = PB_ACK;
#endif
  }
  // The ACK goes out only once the page buffer is free again: it lets the host send one more
  // frame, and that frame must not wait in the 64-byte serial ring behind a held one.
  if (s->pbMode) {
#if SB_DIRECT
    // Direct: the next chunk is written as soon as its frame is complete, so the EEPROM must be
    // ready for it (the chunk's, or the progress record's, write cycle over). Otherwise it would
    // be held while the frame after it (sent on this ACK) piles up in the serial ring.
    if (ee(0, 0, 0, op) == IO_BUSY) return;
#endif
    s->pbMode = PB_FREE;
    sb_send_ack(s->pbOut, p, s->pbSeq, s->pbLen ? SB_ST_OK : SB_ST_EEPROM_ERROR);
  }
}

extern "C" void sb_drain(void) {
  while (SB()->pbMode) sb_pump(OP_WAIT);
}

// ---- Requests. Each reads its fields from p (= sb_f + 4), writes its reply over them and
// returns a Status; rlen is the reply length when it succeeds.

extern "C" uint8_t __attribute__((noinline)) sb_check_slot(uint8_t i) {
  uint8_t n = SB()->slots;
  if (!n) return SB_ST_NOT_FORMATTED;
  return i < n ? SB_ST_OK : SB_ST_BAD_SLOT;
}

extern "C" uint8_t __attribute__((noinline)) sb_on_begin(uint8_t *p) {
  sb_state *s = SB();
  PB(q);
  uint8_t i = p[0], *h = p + SB_BEGIN_REQUEST_OFF_HEADER;
  uint8_t chunk = p[SB_BEGIN_REQUEST_OFF_CHUNK_SIZE], k = 4;
  uint16_t len = sb_rd16(h + SB_IMAGE_HEADER_OFF_LENGTH);
  // Every refusal comes before the first EEPROM write. The chunk size is a power of two
  // (WIRE.md) from CHUNK_MIN (16) to MAX_CHUNK (64, which divides every page size; or 128, no
  // larger than the page): offsets are shifts, and chunks never straddle pages.
  while ((uint8_t)(1 << k) != chunk)
    if (++k > SB_CHUNK_SHIFT) return SB_ST_BAD_FRAME;
  if (p[SB_BEGIN_REQUEST_OFF_CHUNK_SIZE + 1]) return SB_ST_BAD_FRAME;
#if SB_DIRECT
  if (chunk > s->page) return SB_ST_BAD_FRAME;
#endif
  if (!sb_header_ok(h) || !len) return SB_ST_BAD_HEADER;
  uint8_t *sig = h + SB_IMAGE_HEADER_OFF_SIGNATURE;
  if (sig[0] != SIGNATURE_0 || sig[1] != SIGNATURE_1 || sig[2] != SIGNATURE_2) return SB_ST_WRONG_TARGET;
  // Applications load at 0 and fit below the bootloader (appMax < 32 KiB < any slot).
  if (sb_rd16(h + SB_IMAGE_HEADER_OFF_LENGTH + 2) || sb_rd32(h + SB_IMAGE_HEADER_OFF_LOAD_ADDR) || len > sb_app_max() ||
      len > s->slotSize)
    return SB_ST_TOO_BIG;
  if (sb_role_of(i) & IN_USE) return SB_ST_SLOT_IN_USE;

  // The same image (a RECEIVING record with this header) resumes at its recorded progress,
  // which a running transfer keeps within PERSIST_BYTES of what RAM knows.
  uint16_t resume = 0;
  if (recLoad(i + 1) == SB_SLOT_RECEIVING && !memcmp(q + SB_SLOT_RECORD_OFF_HEADER, h, SB_IMAGE_HEADER_SIZE)) {
    s->xSaved = sb_rd16(q + SB_SLOT_RECORD_OFF_PROGRESS);
    resume = s->xSaved >> k;
  } else {
    sb_slot_init(i, SB_SLOT_RECEIVING);
    memcpy(q + SB_SLOT_RECORD_OFF_HEADER, h, SB_IMAGE_HEADER_SIZE);
    recStore(i + 1);
    s->xSaved = 0;
  }
  s->sel = 0;
  s->cum = resume;
  s->xSlot = i;
  s->xNewest = sb_newest;
  s->xNext = sb_rseq;
  s->xLen = len;
  s->xChunk = chunk;
  s->xShift = k;
  s->xCount = (len + chunk - 1) >> k;
  s->xAddr = sb_data_addr(i);
  p[1] = 0;
  sb_wr16(p + 2, resume);
  s->rlen = SB_BEGIN_REPLY_SIZE;
  return SB_ST_OK;
}

// Returns 0 when the chunk must wait for the page buffer (the frame stays held).
extern "C" uint8_t sb_on_data(Print *out) {
  sb_state *s = SBH();
  uint8_t *f = sb_f, st = SB_ST_OK;
  SB_HIDE(f);
  uint8_t dlen = f[1] - 2;
  uint16_t n = sb_rd16(f + SB_FRAME_HEADER);
  if (s->xSlot == SB_NO_SLOT) st = SB_ST_NOT_RECEIVING;
  else if (n >= s->xCount) st = SB_ST_BAD_RANGE;
  else {
    uint16_t off = n << s->xShift, want = s->xLen - off;
    if (want > s->xChunk) want = s->xChunk;
    if (dlen != want) st = SB_ST_BAD_FRAME; // also a frame too short for a chunk index
    else {
      uint8_t c = sb_ack_class(n);
      if (c == SB_ACK_BEYOND) return 1; // dropped: the host resends it when the window moves
      if (c == SB_ACK_NEW) {            // a duplicate is re-acknowledged, never rewritten
        if (s->pbMode) return 0;
#if SB_DIRECT
        // Straight from the frame buffer: about 3.3 ms of TWI for 128 bytes, during which the
        // serial ring takes what arrives. Busy only if the host sent before our last ACK: held.
        uint8_t e = sb_ee_at(s->xAddr + off, f + SB_FRAME_HEADER + 2, dlen, OP_WRITE);
        if (e == IO_BUSY) return 0;
        s->pbLen = !e; // 0: given up, the host resends the chunk
        if (!e) sb_ack_mark(n);
        s->pbMode = sb_progress() >= s->xSaved + PERSIST_BYTES ? PB_PERSIST : PB_ACK;
        s->pbSeq = f[3];
        s->pbOut = out;
        sb_pump(OP_WRITE); // the ACK goes once the write cycle is over
        return 1;
#else
        memcpy(sb_pb, f + SB_FRAME_HEADER + 2, dlen);
        s->pbMode = PB_CHUNK;
        s->pbLen = dlen;
        s->pbChunk = n;
        s->pbAddr = s->xAddr + off;
        s->pbSeq = f[3];
        s->pbOut = out;
        sb_pump(OP_WRITE); // acknowledged as soon as the EEPROM has the bytes
        return 1;
#endif
      }
    }
  }
  sb_send_ack(out, f, f[3], st);
  sb_fn = 0; // the reply overwrote what followed the request
  return 1;
}

extern "C" uint8_t sb_on_end(uint8_t *p) {
  sb_state *s = SB();
  uint8_t i = p[0];
  // END again after it was taken (its reply lost) finds no transfer: NOT_RECEIVING, nothing
  // rewritten; the host then reads the slot record, STAGED or BAD (WIRE.md).
  if (s->xSlot != i) return SB_ST_NOT_RECEIVING;
  if (s->cum < s->xCount) return SB_ST_BAD_RANGE; // chunks still missing
  if (s->xSaved < s->xLen) sb_persist();             // first, so a cut during the CRC resumes at the end
  s->xSlot = SB_NO_SLOT;
  p[1] = p[2] = p[3] = 0;
  s->rlen = SB_END_REPLY_SIZE;
  return sb_finish(i, s->xLen);
}

extern "C" uint8_t __attribute__((noinline)) sb_activate(uint8_t i, uint8_t mode) {
  sb_state *s = SBH();
  PB(q);
  uint8_t e = sb_check_slot(i);
  if (e) return e;
  if (mode > SB_ACT_TRIAL) return SB_ST_BAD_FRAME;
  if (sb_boot_load() == SB_BOOT_TRIAL) {
    // A retried TRIAL that already booted is done; anything else waits for CONFIRM or revert.
    return q[SB_BOOT_RECORD_OFF_SLOT] == i && mode == SB_ACT_TRIAL ? SB_ST_OK : SB_ST_BUSY;
  }
  if (recLoad(i + 1) != SB_SLOT_STAGED) return SB_ST_NOT_STAGED;
  uint8_t backup = SB_NO_SLOT;
  if (mode == SB_ACT_TRIAL) {
    // The backup is a slot that holds the running image (STAGED, same length and CRC), else a
    // copy of our own flash into a slot that holds nothing worth keeping.
    uint8_t spare = SB_NO_SLOT;
    uint8_t *h = q + SB_SLOT_RECORD_OFF_HEADER;
    for (uint8_t k = 0; k < s->slots; k++) {
      if (k == i) continue;
      uint8_t st = recLoad(k + 1);
      if (st == SB_SLOT_STAGED && sb_rd32(h + SB_IMAGE_HEADER_OFF_LENGTH) == s->appLen &&
          sb_rd32(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC) == s->appCrc)
        backup = k;
      else if (st != SB_SLOT_RECEIVING && st != SB_SLOT_STAGED) spare = k;
    }
    if (backup == SB_NO_SLOT) {
      if (spare == SB_NO_SLOT) return SB_ST_NO_BACKUP_ROOM;
      backup = spare;
      // A header for our own flash, as the host would make it (build id = payload CRC).
      sb_slot_init(spare, SB_SLOT_RECEIVING);
      sb_wr32(h, SB_IMAGE_MAGIC);
      h[SB_IMAGE_HEADER_OFF_FORMAT] = SB_IMAGE_FORMAT;
      h[SB_IMAGE_HEADER_OFF_HEADER_SIZE] = SB_IMAGE_HEADER_SIZE;
      h[SB_IMAGE_HEADER_OFF_FLAGS] = SB_IMGF_CONFIRMS;
      h[SB_IMAGE_HEADER_OFF_SIGNATURE] = SIGNATURE_0;
      h[SB_IMAGE_HEADER_OFF_SIGNATURE + 1] = SIGNATURE_1;
      h[SB_IMAGE_HEADER_OFF_SIGNATURE + 2] = SIGNATURE_2;
      sb_wr16(h + SB_IMAGE_HEADER_OFF_LENGTH, s->appLen);
      sb_wr32(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC, s->appCrc);
      sb_wr32(h + SB_IMAGE_HEADER_OFF_APP_VERSION, s->appVersion);
      sb_wr32(h + SB_IMAGE_HEADER_OFF_BUILD_ID, s->appCrc);
      sb_crc_ok(h, SB_IMAGE_HEADER_OFF_HEADER_CRC, 1);
      recStore(spare + 1);
      blocks(sb_data_addr(spare), s->appLen, EE_COPY);
      // our own flash must read back right from the EEPROM
      if (sb_finish(spare, s->appLen)) return SB_ST_EEPROM_ERROR;
    }
  }
  sb_boot_set(SB_BOOT_PENDING, mode == SB_ACT_TRIAL ? SB_BOOTF_TRIAL : 0, i, backup, SB_RESULT_NONE);
  recStore(0);
  s->reboot = mode != SB_ACT_NEXT_RESET;
  return SB_ST_OK;
}

extern "C" uint8_t __attribute__((noinline)) sb_confirm(void) {
  PB(q);
  uint8_t st = sb_boot_load();
  if (st == SB_BOOT_TRIAL) {
    sb_boot_set(SB_BOOT_IDLE, 0, q[SB_BOOT_RECORD_OFF_SLOT], SB_NO_SLOT, SB_RESULT_CONFIRMED);
    recStore(0);
    if (!sb_err) {
      MCUSR &= ~_BV(WDRF); // while WDRF is set the watchdog cannot be turned off
      wdt_disable();
    }
    return SB_ST_OK;
  }
  // CONFIRM again after it succeeded (its reply was lost) is fine.
  return st == SB_BOOT_IDLE && q[SB_BOOT_RECORD_OFF_RESULT] == SB_RESULT_CONFIRMED ? SB_ST_OK : SB_ST_NOT_TRIAL;
}

// A superblock (28 bytes at p) this node can use: its CRC, our chip, 1..FS_MAX_SLOTS slots.
// Then its layout goes into the state. The host plans layouts (protocol/ts/fs.ts planLayout).
extern "C" uint8_t sb_use_layout(uint8_t *p) {
  sb_state *s = SB();
  uint8_t n = p[SB_SUPERBLOCK_OFF_SLOT_COUNT];
  if (!sb_crc_ok(p, SB_SUPERBLOCK_OFF_CRC, 0) || sb_rd32(p + SB_SUPERBLOCK_OFF_CHIP_SIZE) != s->chip ||
      (uint8_t)(n - 1) >= SB_FS_MAX_SLOTS)
    return 0;
  s->slots = n;
  s->dataStart = sb_rd16(p + SB_SUPERBLOCK_OFF_DATA_START);
  memcpy(&s->slotSize, p + SB_SUPERBLOCK_OFF_SLOT_SIZE, 3);
  return 1;
}

// FORMAT with the host's superblock: it goes invalid first and valid last, so a cut in
// between reads as "not formatted". Each record gets a fresh version the usual way (the other
// copy may hold old data: it loses on seq). Blocks for (slots + 3) write cycles, 30-80 ms.
extern "C" uint8_t __attribute__((noinline)) sb_format(uint8_t *p) {
  sb_state *s = SB();
  PB(q);
  s->slots = 0;
  if (!sb_use_layout(p)) return SB_ST_BAD_FRAME;
  s->xSlot = SB_NO_SLOT;
  memset(q, 0, 4);
  ee(0, q, 4, OP_WAIT);
  sb_boot_set(SB_BOOT_IDLE, 0, SB_NO_SLOT, SB_NO_SLOT, SB_RESULT_NONE);
  q[SB_BOOT_RECORD_OFF_CURRENT] = SB_NO_SLOT;
  recStore(0);
  for (uint8_t i = 0; i < s->slots; i++) {
    sb_slot_init(i, SB_SLOT_EMPTY);
    recStore(i + 1);
  }
  ee(0, p, SB_SUPERBLOCK_SIZE, OP_WAIT);
  if (sb_err) s->slots = 0;
  return SB_ST_OK;
}

// Payload length each request must have (SLOTARG: its first byte names a slot), by type - 1.
#define SLOTARG 0x80
static const uint8_t REQ[] PROGMEM = {
    0,                               // INFO
    SB_SLOT_QUERY_SIZE | SLOTARG,    // SLOT
    SB_BEGIN_REQUEST_SIZE | SLOTARG, // BEGIN
    0,                               // DATA (not through this table)
    SB_SLOT_QUERY_SIZE | SLOTARG,    // END
    SB_ACTIVATE_REQUEST_SIZE,        // ACTIVATE
    0,                               // CONFIRM
    SB_SLOT_QUERY_SIZE | SLOTARG,    // ERASE
    SB_READ_REQUEST_SIZE,            // READ
    0,                               // REBOOT
    0,                               // BOOT
    SB_FORMAT_REQUEST_SIZE,          // FORMAT
};

#if SB_DIRECT
// DATA frames the host may have unacknowledged. With 2, the frame after a chunk arrives while
// the chunk goes over the TWI (blocking, about 3.3 ms for 128 B): that is 38 bytes at 115200,
// which the core's 64-byte serial ring holds, but 83 at 250 kbaud, which it does not. So 2
// while the hardware UART (the line poll(Serial) serves) takes at least 60 us a byte (up to
// about 166 kbaud), else 1: one frame at a time. A byte takes (UBRR + 1) x 80 cycles with U2X
// (Arduino's choice but for 57600 at 16 MHz) and twice that without; reading only the low byte
// and assuming U2X errs towards 1, which is always safe.
#define SLOW_UBRR ((uint8_t)(F_CPU * 60e-6 / 80 - 1))
extern "C" uint8_t sb_window(void) {
  return UBRR0L >= SLOW_UBRR ? 2 : 1;
}
#else
#define sb_window() SB_WINDOW
#endif

extern "C" uint8_t sb_handle(uint8_t type, uint8_t *p) {
  sb_state *s = SB();
  PB(q);
  uint8_t i = p[0];
  switch (type) {
  case SB_MSG_INFO: {
    uint8_t st = sb_boot_load();
    memset(p, 0, SB_INFO_REPLY_SIZE);
    p[SB_INFO_REPLY_OFF_PROTOCOL] = SB_PROTOCOL_VERSION;
    p[SB_INFO_REPLY_OFF_SIGNATURE] = SIGNATURE_0;
    p[SB_INFO_REPLY_OFF_SIGNATURE + 1] = SIGNATURE_1;
    p[SB_INFO_REPLY_OFF_SIGNATURE + 2] = SIGNATURE_2;
    p[SB_INFO_REPLY_OFF_BOOT_STATE] = st;
    sb_wr16(p + SB_INFO_REPLY_OFF_BL_VERSION, pgm_read_word(SB_BL_VERSION_ADDR));
    p[SB_INFO_REPLY_OFF_FLASH_SIZE + 1] = 0x80; // 32 KiB
    sb_wr16(p + SB_INFO_REPLY_OFF_APP_MAX, sb_app_max());
    memcpy(p + SB_INFO_REPLY_OFF_CHIP_SIZE, &s->chip, 3);
    p[SB_INFO_REPLY_OFF_PAGE_SIZE] = s->page;
    p[SB_INFO_REPLY_OFF_SLOT_COUNT] = s->slots;
    p[SB_INFO_REPLY_OFF_CURRENT] = q[SB_BOOT_RECORD_OFF_CURRENT];
    p[SB_INFO_REPLY_OFF_MAX_CHUNK] = SB_MAX_CHUNK;
    p[SB_INFO_REPLY_OFF_WINDOW] = sb_window();
    p[SB_INFO_REPLY_OFF_RESULT] = q[SB_BOOT_RECORD_OFF_RESULT];
    memcpy(p + SB_INFO_REPLY_OFF_APP_VERSION, &s->appVersion, 8);
    s->rlen = SB_INFO_REPLY_SIZE;
    break;
  }
  case SB_MSG_SLOT:
  case SB_MSG_BOOT: {
    // Raw records: the host decodes them (and derives roles from the boot record).
    uint8_t r = type == SB_MSG_SLOT ? i + 1 : 0, n = recSize(r);
    recLoad(r);
    memcpy(p + 1, q, n);
    s->rlen = 1 + n;
    break;
  }
  case SB_MSG_BEGIN:
    return sb_on_begin(p);
  case SB_MSG_END:
    return sb_on_end(p);
  case SB_MSG_ACTIVATE:
    return sb_activate(i, p[1]);
  case SB_MSG_CONFIRM:
    return sb_confirm();
  case SB_MSG_ERASE:
    if (sb_role_of(i) & IN_USE) return SB_ST_SLOT_IN_USE;
    if (s->xSlot == i) s->xSlot = SB_NO_SLOT;
    if (recLoad(i + 1) != SB_SLOT_EMPTY) {
      sb_slot_init(i, SB_SLOT_EMPTY);
      recStore(i + 1);
    }
    break;
  case SB_MSG_READ: {
    sb_u24 a;
    memcpy(&a, p, 3);
    uint8_t n = p[SB_READ_REQUEST_OFF_LENGTH];
    // A 24LC1025's sequential read wraps at its 64 KiB block: the host splits reads there
    // (WIRE.md), a read across it is refused.
    uint16_t lo = a;
    if (p[3] || (uint8_t)(n - 1) >= SB_MAX_CHUNK || a + n > s->chip || (uint16_t)(lo + n - 1) < lo) return SB_ST_BAD_RANGE;
    sb_ee_at(a, p + 1, n, OP_READ);
    s->rlen = 1 + n;
    break;
  }
  case SB_MSG_REBOOT:
    if (s->xSlot != SB_NO_SLOT) sb_persist(); // the resume after the reset loses nothing
    s->reboot = 1;
    break;
  case SB_MSG_FORMAT:
    return sb_format(p);
  }
  return SB_ST_OK;
}

// Returns 0 when the frame in sb_f must stay held.
extern "C" uint8_t sb_dispatch(Print *out) {
  sb_state *s = SB();
  uint8_t *f = sb_f;
  SB_HIDE(f);
  uint8_t *p = f + SB_FRAME_HEADER, type = f[2], t = type - 1;
  if (type & SB_REPLY_BIT) return 1; // a reply (an echo on a shared link): not for us
  if (type == SB_MSG_DATA) return sb_on_data(out);
  sb_drain();
  sb_err = s->reboot = 0;
  s->rlen = 1;
  uint8_t st = SB_ST_UNKNOWN_TYPE;
  if (t < sizeof REQ) {
    uint8_t want = pgm_read_byte(REQ + t);
    st = f[1] != (want & ~SLOTARG) ? SB_ST_BAD_FRAME : want & SLOTARG ? sb_check_slot(p[0]) : SB_ST_OK;
    if (!st) st = sb_handle(type, p);
  }
  if (sb_err) st = SB_ST_EEPROM_ERROR, s->rlen = 1, s->reboot = 0;
  p[0] = st;
  sb_send(out, f, type, f[3], s->rlen);
  sb_fn = 0; // the reply overwrote what followed the request
  if (s->reboot) sb_reboot(out);
  return 1;
}

extern "C" void __attribute__((noinline)) sb_run(Print *out) {
  sb_state *s = SB();
  do {
    if (!sb_dispatch(out)) {
      s->held = 1;
      s->heldOut = out;
      return;
    }
  } while (sb_fn && sb_next());
  s->held = 0;
}

extern "C" void sb_service(void) {
  sb_state *s = SBH();
  sb_pump(OP_WRITE);
  if (s->held) sb_run(s->heldOut);
}

// ---- The sketch's side.

bool StageBoot::begin(uint32_t appVersion) {
  sb_state *s = SB();
  PB(q);
  sb_i2c = addr_;
  // Internal pull-ups on SDA/SCL, as Wire does; real boards add external ones for 400 kHz.
  PORTC |= _BV(PORTC4) | _BV(PORTC5);
  s->chip = (sb_u24)0x8000 << chip_;
  s->page = chip_ ? 128 : 64;
  s->xSlot = SB_NO_SLOT;
  s->appVersion = appVersion;
  s->appLen = (uint16_t)__data_load_end;
  ee(0, sb_f, SB_SUPERBLOCK_SIZE, OP_READ);
  if (sb_err) return false;
  sb_use_layout(sb_f); // else NOT_FORMATTED (blank, cut short, another chip) until the host's FORMAT

  // A watchdog left running by our own REBOOT/ACTIVATE (WDRF keeps it on after the reset)
  // would reset the sketch forever; only a trial keeps it, as the bootloader armed it.
  if (sb_boot_load() != SB_BOOT_TRIAL) {
    MCUSR &= ~_BV(WDRF);
    wdt_disable();
  }
  // The running image: this build's bytes (.text + .data). It came from the slot `current`
  // names if that slot holds exactly these bytes (length and CRC): then its header's version
  // is ours, and that slot can be a trial's backup.
  blocks(0, s->appLen, FLASH_CRC);
  s->appCrc = ~sb_crc;
  uint8_t cur = q[SB_BOOT_RECORD_OFF_CURRENT], *h = q + SB_SLOT_RECORD_OFF_HEADER;
  if (cur < s->slots && recLoad(cur + 1) == SB_SLOT_STAGED && !memcmp(h + SB_IMAGE_HEADER_OFF_LENGTH, &s->appLen, 2) &&
      !memcmp(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC, &s->appCrc, 4))
    memcpy(&s->appVersion, h + SB_IMAGE_HEADER_OFF_APP_VERSION, 4);
  return !sb_err;
}

void StageBoot::poll(Stream &link) {
  sb_state *s = SBH();
  sb_service();
  while (!s->held) {
    int c = link.read();
    uint8_t now = *(volatile uint8_t *)&timer0_millis;
    if (c < 0) {
      if ((uint8_t)(now - s->lastRx) > IDLE_MS && sb_idle()) sb_run(&link);
      break;
    }
    s->lastRx = now;
    if (sb_push(c)) sb_run(&link);
  }
}

void StageBoot::poll() {
  sb_service();
}

bool StageBoot::handleFrame(const uint8_t *frame, uint8_t len, Print &reply) {
  sb_state *s = SB();
  sb_service();
  if (s->held) return false;
  while (len--)
    if (sb_push(*frame++)) sb_run(&reply);
  // A packet is a whole frame: nothing of it may wait for the next packet.
  while (sb_fn && !s->held)
    if (sb_idle()) sb_run(&reply);
  return true;
}

bool StageBoot::confirm() {
  sb_state *s = SB();
  sb_drain();
  sb_err = 0;
  uint8_t st = sb_confirm();
  return !sb_err && st == SB_ST_OK;
}

bool StageBoot::inTrial() {
  sb_drain();
  return sb_boot_load() == SB_BOOT_TRIAL;
}

uint8_t StageBoot::activate(uint8_t slot, Mode mode) {
  sb_state *s = SB();
  sb_drain();
  sb_err = s->reboot = 0;
  uint8_t st = sb_activate(slot, mode);
  if (sb_err) return SB_ST_EEPROM_ERROR;
  if (s->reboot) sb_reboot(0);
  return st;
}

uint32_t StageBoot::version() {
  return SB()->appVersion;
}

uint16_t StageBoot::bootloaderVersion() {
  return pgm_read_word(SB_BL_VERSION_ADDR);
}

uint8_t StageBoot::slotCount() {
  return SB()->slots;
}

uint8_t StageBoot::slotState(uint8_t slot, sb_image_header *hdr) {
  if (slot >= SB()->slots) return 0;
  sb_drain();
  uint8_t st = recLoad(slot + 1);
  if (hdr) memcpy(hdr, sb_pb + SB_SLOT_RECORD_OFF_HEADER, SB_IMAGE_HEADER_SIZE);
  return st ? st : SB_SLOT_EMPTY;
}
