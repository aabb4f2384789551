// The Arduino library's C++ side: the sketch's API (begin, poll, handleFrame, confirm,
// activate and the queries), the two virtual calls into the sketch's Print, and the trial backup
// a sketch's own activate(slot, TRIAL) makes. Everything a request does is in sb_engine.S;
// frames, CRCs, records and the TWI master in the other .S files. Written for flash size: the
// library must add at most 3 KiB to a sketch.
//
// Division of labour (WIRE.md): the host owns the policy of the file system of STATES.md (what
// state a slot record should be in, which slot a trial's backup goes to, when to format); the
// node owns what only it can do or know: writing chunks as they arrive and acknowledging them,
// persisting the progress it has made, CRCs read back from its own EEPROM, copying its own
// flash, the A/B mechanics of a record write (which copy, which seq, its CRC), and confirm().
// The bootloader checks every image again before it touches flash, so a host mistake can waste
// a slot but never install a bad image.
//
// Buffers: the frame buffer (sb_f) holds one request and its reply is built over it. The second
// buffer (sb_pb) holds a record being read, patched and written, the ACK of the chunk last
// written and, with 64-byte chunks, that chunk until the chip takes it (sb_config.h).
//
// Blocking: the DATA path never waits for a write cycle (one attempt per poll). Requests the
// host waits on may: RECORD and SUPERBLOCK for a write cycle or two, CRC for the slot's bytes
// over I2C (about 0.8 s for 32 KiB), BACKUP for the copy of the running image (a few seconds).
//
// Sharing the bus with Wire: every EEPROM transaction saves TWBR, the TWSR prescaler and TWCR,
// runs at 400 kHz with the TWI interrupt off (so Wire's ISR never sees our bus states), ends
// with a STOP and puts the three registers back. Wire's 32-byte buffer is never used, so
// 64- and 128-byte page writes go through whole.
#include "StageBoot.h"
#include "sb_core.h"
#include "sb_state.h"
#include <avr/pgmspace.h>
#include <avr/wdt.h>
#include <stddef.h>

// The assembly reaches the state through the offsets of sb_state.h.
#define SB_CHECK(f, o) static_assert(offsetof(sb_state, f) == SB_S_##o, "sb_state.h: " #f)
SB_CHECK(chip, CHIP);
SB_CHECK(slotSize, SLOT_SIZE);
SB_CHECK(dataStart, DATA_START);
SB_CHECK(page, PAGE);
SB_CHECK(cum, CUM);
SB_CHECK(sel, SEL);
SB_CHECK(slots, SLOTS);
SB_CHECK(reboot, REBOOT);
SB_CHECK(rlen, RLEN);
SB_CHECK(held, HELD);
SB_CHECK(lastRx, LAST_RX);
SB_CHECK(heldOut, HELD_OUT);
SB_CHECK(pbMode, PB_MODE);
SB_CHECK(pbLen, PB_LEN);
SB_CHECK(pbSeq, PB_SEQ);
SB_CHECK(pbOut, PB_OUT);
SB_CHECK(xSlot, X_SLOT);
SB_CHECK(xShift, X_SHIFT);
SB_CHECK(xLen, X_LEN);
SB_CHECK(xCount, X_COUNT);
SB_CHECK(xSaved, X_SAVED);
SB_CHECK(xAddr, X_ADDR);
SB_CHECK(appVersion, APP_VERSION);
SB_CHECK(appCrc, APP_CRC);
SB_CHECK(appLen, APP_LEN);
#if SB_MAX_CHUNK == 64
SB_CHECK(pbChunk, PB_CHUNK);
SB_CHECK(pbAddr, PB_ADDR);
#endif
static_assert(sizeof(sb_state) == SB_S_SIZE, "sb_state.h: size");

// A partial frame older than this (ms, after its last byte) is dropped: see WIRE.md.
#define IDLE_MS 3

extern "C" volatile unsigned long timer0_millis; // wiring.c; its low byte is our idle clock
extern const char __data_load_end[];             // end of .text + .data: this image's length

// The record buffer (shared with sb_rec.S): the largest record; with 64-byte chunks also the
// page buffer, which holds a chunk until the chip takes it.
#if SB_MAX_CHUNK == 64
#define SB_PB_SIZE 64
#else
#define SB_PB_SIZE SB_SLOT_RECORD_SIZE
#endif
extern "C" uint8_t sb_pb[SB_PB_SIZE];
uint8_t sb_pb[SB_PB_SIZE];

// sb_twi.S: the EEPROM's 7-bit I2C address; set when an EEPROM transaction failed.
extern "C" uint8_t sb_i2c, sb_err;
uint8_t sb_i2c, sb_err;

// ---- Records (sb_rec.S). r: 0 = boot record, 1 + i = slot i. Load: the newest valid copy
// into sb_pb (zeros if none), returning its state (0: none), with sb_newest / sb_rseq set for
// the store; store: sb_pb as the next version into the other copy.
extern "C" uint8_t sb_rec_load(uint8_t r);
extern "C" void sb_rec_store(uint8_t r);
#define recLoad sb_rec_load
#define recStore sb_rec_store

// sb_engine.S: the boot record into sb_pb (NO_SLOT in its slot fields when there is none),
// returning its state; begin()'s work (0: the EEPROM did not answer); waiting until the last
// chunk's ACK has gone; CONFIRM.
extern "C" uint8_t sb_boot_load(void);
extern "C" uint8_t sb_begin(uint8_t i2c, uint8_t chip, uint32_t version);
extern "C" void sb_drain(void);
extern "C" uint8_t sb_confirm(void);

// The boot record with these fields in sb_pb, to be written with recStore(0).
static void bootSet(uint8_t state, uint8_t flags, uint8_t slot, uint8_t backup, uint8_t result) {
  uint8_t *p = sb_pb;
  SB_HIDE(p);
  sb_boot_load();
  p[SB_BOOT_RECORD_OFF_STATE] = state;
  p[SB_BOOT_RECORD_OFF_FLAGS] = flags;
  p[SB_BOOT_RECORD_OFF_SLOT] = slot;
  p[SB_BOOT_RECORD_OFF_BACKUP] = backup;
  p[SB_BOOT_RECORD_OFF_RESULT] = result;
  p[SB_BOOT_RECORD_OFF_ATTEMPTS] = 0;
}

// ---- Frames out, and the engine (sb_engine.S).

// The sealed reply to the sketch's Print (sb_engine.S seals; virtual calls are simpler here).
extern "C" void sb_write(Print *out, const uint8_t *f, uint8_t n) {
  if (out) out->write(f, n);
}

extern "C" void __attribute__((noinline)) sb_reboot(Print *out) {
  if (out) out->flush(); // let the reply leave the UART first
  wdt_enable(WDTO_15MS);
  for (;;) {
  }
}

// sb_engine.S: answers every complete frame held in sb_f, keeping one that must wait;
// background work (the ACK of the last chunk, then a held frame).
extern "C" void sb_run(Print *out);
extern "C" void sb_service(void);

// ---- The sketch's side.

bool StageBoot::begin(uint32_t appVersion) {
  // The EEPROM, the layout (else NOT_FORMATTED until the host formats), the watchdog (a
  // REBOOT's would reset the sketch forever: only a trial keeps it, as the bootloader armed it)
  // and this image's length and CRC, by which the host recognises a slot that holds it.
  return sb_begin(addr_, chip_, appVersion);
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
  sb_drain();
  sb_err = 0;
  uint8_t st = sb_confirm();
  return !sb_err && st == SB_ST_OK;
}

bool StageBoot::inTrial() {
  sb_drain();
  return sb_boot_load() == SB_BOOT_TRIAL;
}

// sb_crc.S: walks len bytes in 64-byte blocks staged at sb_f + 8, sb_crc starting at ~0: flash
// from 0 into the EEPROM at a (EE_COPY), or the EEPROM at a into sb_crc (EE_CRC).
#define EE_COPY 1
#define EE_CRC 2
extern "C" void sb_blocks(sb_u24 a, uint16_t len, uint8_t mode);

// A trial's backup made by the sketch itself: this image into spare slot k, as the host does it
// (WIRE.md): the slot RECEIVING with the header the host would make (build id = payload CRC),
// the flash bytes, their CRC read back from the EEPROM, then STAGED. Only sketches that call
// activate(slot, TRIAL) link this. False when the copy does not fit or does not read back.
static bool saveSelf(uint8_t k) {
  sb_state *s = SB();
  uint8_t *p = sb_pb, *h = p + SB_SLOT_RECORD_OFF_HEADER;
  SB_HIDE(p);
  sb_u24 a = s->dataStart;
  for (uint8_t i = k; i; i--) a += s->slotSize;
  if (s->appLen > s->slotSize) return false;
  recLoad(k + 1);
  memset(p + SB_SLOT_RECORD_OFF_STATE, 0, SB_SLOT_RECORD_OFF_CRC - SB_SLOT_RECORD_OFF_STATE);
  p[SB_SLOT_RECORD_OFF_STATE] = SB_SLOT_RECEIVING;
  memcpy(p + SB_SLOT_RECORD_OFF_DATA_ADDR, &a, 3);
  memcpy(p + SB_SLOT_RECORD_OFF_CAPACITY, &s->slotSize, 3);
  sb_wr32(h + SB_IMAGE_HEADER_OFF_MAGIC, SB_IMAGE_MAGIC);
  h[SB_IMAGE_HEADER_OFF_FORMAT] = SB_IMAGE_FORMAT;
  h[SB_IMAGE_HEADER_OFF_HEADER_SIZE] = SB_IMAGE_HEADER_SIZE;
  h[SB_IMAGE_HEADER_OFF_FLAGS] = SB_IMGF_CONFIRMS;
  h[SB_IMAGE_HEADER_OFF_SIGNATURE] = SIGNATURE_0;
  h[SB_IMAGE_HEADER_OFF_SIGNATURE + 1] = SIGNATURE_1;
  h[SB_IMAGE_HEADER_OFF_SIGNATURE + 2] = SIGNATURE_2;
  memcpy(h + SB_IMAGE_HEADER_OFF_LENGTH, &s->appLen, 2);
  memcpy(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC, &s->appCrc, 4);
  memcpy(h + SB_IMAGE_HEADER_OFF_APP_VERSION, &s->appVersion, 4);
  memcpy(h + SB_IMAGE_HEADER_OFF_BUILD_ID, &s->appCrc, 4);
  sb_crc_ok(h, SB_IMAGE_HEADER_OFF_HEADER_CRC, 1);
  recStore(k + 1);
  sb_fn = 0; // the block walker stages in the frame buffer: a partial frame there is gone
  sb_blocks(a, s->appLen, EE_COPY);
  sb_blocks(a, s->appLen, EE_CRC);
  if (~sb_crc != s->appCrc || recLoad(k + 1) != SB_SLOT_RECEIVING) return false;
  p[SB_SLOT_RECORD_OFF_STATE] = SB_SLOT_STAGED;
  memcpy(p + SB_SLOT_RECORD_OFF_PROGRESS, &s->appLen, 2);
  recStore(k + 1);
  return !sb_err;
}

// NOW and NEXT_RESET install a STAGED slot; TRIAL also needs a slot to revert to: one that holds
// this very image (a STAGED slot with its length and CRC), else a copy into a spare slot (one
// neither RECEIVING nor STAGED), which takes a few seconds.
uint8_t StageBoot::activate(uint8_t slot, Mode mode) {
  sb_state *s = SB();
  uint8_t *h = sb_pb + SB_SLOT_RECORD_OFF_HEADER, backup = SB_NO_SLOT, spare = SB_NO_SLOT;
  sb_drain();
  sb_err = 0;
  if (slot >= s->slots) return SB_ST_BAD_SLOT;
  if (sb_boot_load() == SB_BOOT_TRIAL) return SB_ST_BUSY;
  if (recLoad(slot + 1) != SB_SLOT_STAGED) return SB_ST_NOT_STAGED;
  if (mode == TRIAL) {
    for (uint8_t k = 0; k < s->slots; k++) {
      if (k == slot) continue;
      uint8_t st = recLoad(k + 1);
      if (st == SB_SLOT_STAGED && !memcmp(h + SB_IMAGE_HEADER_OFF_LENGTH, &s->appLen, 2) &&
          !memcmp(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC, &s->appCrc, 4))
        backup = k;
      else if (st != SB_SLOT_RECEIVING && st != SB_SLOT_STAGED)
        spare = k;
    }
    if (backup == SB_NO_SLOT) {
      if (spare == SB_NO_SLOT) return SB_ST_NO_BACKUP_ROOM;
      if (!saveSelf(spare)) return SB_ST_EEPROM_ERROR;
      backup = spare;
    }
  }
  bootSet(SB_BOOT_PENDING, mode == TRIAL ? SB_BOOTF_TRIAL : 0, slot, backup, SB_RESULT_NONE);
  recStore(0);
  if (sb_err) return SB_ST_EEPROM_ERROR;
  if (mode != NEXT_RESET) sb_reboot(0);
  return SB_ST_OK;
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
