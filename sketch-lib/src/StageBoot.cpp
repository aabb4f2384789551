// The node side of protocol/WIRE.md on the ATmega328P: the transfer of chunks into the EEPROM,
// the primitives the host builds everything else from, and the sketch's API. Written for flash
// size: the library must add at most 3 KiB to a sketch. The request dispatcher and the small
// requests are in sb_engine.S; frames, CRCs, records and the TWI master in the other .S files.
//
// Division of labour (WIRE.md): the host owns the policy of the file system of STATES.md (what
// state a slot record should be in, which slot a trial's backup goes to, when to format); the
// node owns what only it can do or know: writing chunks as they arrive and acknowledging them,
// persisting the progress it has made, CRCs read back from its own EEPROM, copying its own
// flash, the A/B mechanics of a record write (which copy, which seq, its CRC), and confirm().
// The bootloader checks every image again before it touches flash, so a host mistake can waste
// a slot but never install a bad image.
//
// Buffers: the frame buffer (sb_f) holds one request and its reply is built over it. The record
// buffer (sb_pb) holds one record being read, patched and written, and the ACK of the chunk
// last written. A chunk goes to the EEPROM straight from the frame buffer once its CRC checks
// (about 1.7 ms of TWI for 64 bytes, 3.3 ms for 128; the core's 64-byte serial ring takes what
// arrives meanwhile), and its ACK waits until the write cycle is over, so the next chunk, which
// travels meanwhile, finds the EEPROM ready.
//
// Blocking: the DATA path never waits for a write cycle (one attempt per poll). Requests the
// host waits on may: RECORD and WRITE for a write cycle or two, CRC for the slot's bytes over
// I2C (about 0.8 s for 32 KiB), BACKUP for the copy of the running image (a few seconds).
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
static_assert(sizeof(sb_state) == SB_S_SIZE, "sb_state.h: size");

// Rewrite the receiving slot's progress after this many newly written payload bytes: 32 full
// chunks (2 KiB with 64-byte chunks, 4 KiB with 128). Each rewrite stalls the line for about a
// write cycle; a reset resends at most this much.
#define PERSIST_BYTES (32 * SB_MAX_CHUNK)
// A partial frame older than this (ms, after its last byte) is dropped: see WIRE.md.
#define IDLE_MS 3

extern "C" volatile unsigned long timer0_millis; // wiring.c; its low byte is our idle clock
extern const char __data_load_end[];             // end of .text + .data: this image's length

extern "C" uint8_t sb_pb[SB_SLOT_RECORD_SIZE]; // shared with sb_rec.S: the largest record
uint8_t sb_pb[SB_SLOT_RECORD_SIZE];

enum { PB_FREE, PB_PERSIST, PB_ACK };

// ---- TWI master (sb_twi.S).

#define IO_BUSY 1 // the chip NACKed its address: a write cycle runs
#define OP_WRITE 0 // one attempt
#define OP_WAIT 1  // ACK-polls a running write cycle out first (bounded)
#define OP_READ 3  // (waits too)

extern "C" uint8_t sb_ee(uint16_t a, uint8_t *p, uint8_t n, uint8_t op);
extern "C" uint8_t sb_i2c, sb_err; // the EEPROM's 7-bit address; an EEPROM error happened
uint8_t sb_i2c, sb_err;

// At a 17-bit address: the upper 64 KiB of a 24LC1025 is bit 2 of the operation.
static uint8_t eeAt(sb_u24 a, uint8_t *p, uint8_t n, uint8_t op) {
  return sb_ee((uint16_t)a, p, n, op | (uint8_t)(a >> 16) << 2);
}

// ---- Records (sb_rec.S). r: 0 = boot record, 1 + i = slot i. Load: the newest valid copy
// into sb_pb (zeros if none), returning its state (0: none), with sb_newest / sb_rseq set for
// the store; store: sb_pb as the next version into the other copy.
extern "C" uint8_t sb_rec_load(uint8_t r);
extern "C" void sb_rec_store(uint8_t r);
#define recLoad sb_rec_load
#define recStore sb_rec_store

// The boot record into sb_pb, NO_SLOT in its slot fields when there is none; returns its state.
extern "C" uint8_t sb_boot_load(void) {
  uint8_t st = recLoad(0);
  if (!st) sb_pb[4] = sb_pb[5] = sb_pb[6] = SB_NO_SLOT;
  return st;
}

static sb_u24 dataAddr(uint8_t i) {
  sb_state *s = SB();
  sb_u24 a = s->dataStart;
  while (i--) {
    a += s->slotSize;
    SB_OPAQUE(a); // a loop, not a call to the 24-bit multiply
  }
  return a;
}

// sb_crc.S: walks len bytes in 64-byte blocks staged at sb_f + 8, sb_crc starting at ~0: flash
// from 0 into sb_crc (FLASH_CRC) or into the EEPROM at a (EE_COPY), or the EEPROM at a into
// sb_crc (EE_CRC).
#define FLASH_CRC 0
#define EE_COPY 1
#define EE_CRC 2
extern "C" void sb_blocks(sb_u24 a, uint16_t len, uint8_t mode);

// ---- The transfer.

static uint16_t progress(void) {
  sb_state *s = SBH();
  uint16_t n = s->cum << s->xShift;
  return n > s->xLen ? s->xLen : n;
}

// Rewrites the receiving slot's record with the current progress. The chip finishes the last
// chunk's write cycle before it takes the record, so progress never claims unwritten bytes.
extern "C" void sb_persist(void) {
  sb_state *s = SB();
  uint8_t r = s->xSlot + 1;
  if (!recLoad(r)) {
    s->xSlot = SB_NO_SLOT; // no valid record to update: stop; the host starts again
    return;
  }
  uint16_t n = progress();
  sb_wr16(sb_pb + SB_SLOT_RECORD_OFF_PROGRESS, n);
  recStore(r);
  s->xSaved = n;
}

// sb_engine.S: an ACK of DATA frame seq with status st and the window, built at f and sent.
extern "C" void sb_send_ack(Print *out, uint8_t *f, uint8_t seq, uint8_t st);

// The ACK of the chunk last written goes once its write cycle (and a progress rewrite it was
// due) is over. op: OP_WRITE (one attempt, returns while the chip is busy) or OP_WAIT.
extern "C" void sb_pump(uint8_t op) {
  sb_state *s = SBH();
  if (!s->pbMode || sb_ee(0, 0, 0, op) == IO_BUSY) return;
  if (s->pbMode == PB_PERSIST) {
    sb_persist();
    s->pbMode = PB_ACK;
    if (sb_ee(0, 0, 0, op) == IO_BUSY) return;
  }
  s->pbMode = PB_FREE;
  sb_send_ack(s->pbOut, sb_pb, s->pbSeq, s->pbLen ? SB_ST_OK : SB_ST_EEPROM_ERROR);
}

extern "C" void sb_drain(void) {
  while (SB()->pbMode) sb_pump(OP_WAIT);
}

// DATA. Returns 0 when the chunk must wait (the frame stays held): the last ACK has not gone,
// or the EEPROM is still busy.
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
    uint8_t chunk = 1 << s->xShift;
    if (want > chunk) want = chunk;
    if (dlen != want) st = SB_ST_BAD_FRAME; // also a frame too short for a chunk index
    else {
      uint8_t c = sb_ack_class(n);
      if (c == SB_ACK_BEYOND) return 1; // dropped: the host resends it when the window moves
      if (c == SB_ACK_NEW) {            // a duplicate is re-acknowledged, never rewritten
        if (s->pbMode) return 0;
        uint8_t e = eeAt(s->xAddr + off, f + SB_FRAME_HEADER + 2, dlen, OP_WRITE);
        if (e == IO_BUSY) return 0;
        s->pbLen = !e; // 0: given up, the host resends the chunk
        if (!e) sb_ack_mark(n);
        s->pbMode = progress() >= s->xSaved + PERSIST_BYTES ? PB_PERSIST : PB_ACK;
        s->pbSeq = f[3];
        s->pbOut = out;
        sb_pump(OP_WRITE);
        return 1;
      }
    }
  }
  sb_send_ack(out, f, f[3], st);
  sb_fn = 0; // the reply overwrote what followed the request
  return 1;
}

// ---- Requests. Each gets p = sb_f + 4 (slot numbers already checked where the request names
// one), writes its reply over it and returns a Status; rlen is the reply's length when longer
// than the status.

// BEGIN: a transfer into slot p[0]. The chunk size is a power of two from CHUNK_MIN (16) to
// MAX_CHUNK that divides the page (64 or 128 divides every page size here; 128 is refused for
// a 24LC256): offsets are shifts, and chunks never straddle pages.
extern "C" uint8_t sb_on_begin(uint8_t *p) {
  sb_state *s = SB();
  uint8_t chunk = p[SB_BEGIN_REQUEST_OFF_CHUNK_SIZE], k = 4;
  while ((uint8_t)(1 << k) != chunk)
    if (++k > SB_CHUNK_SHIFT) return SB_ST_BAD_FRAME;
  if (p[SB_BEGIN_REQUEST_OFF_CHUNK_SIZE + 1] || chunk > s->page) return SB_ST_BAD_FRAME;
  uint16_t len = sb_rd16(p + SB_BEGIN_REQUEST_OFF_LENGTH);
  if (!len || sb_rd16(p + SB_BEGIN_REQUEST_OFF_LENGTH + 2) || len > s->slotSize) return SB_ST_TOO_BIG;
  uint16_t count = (len + chunk - 1) >> k, start = sb_rd16(p + SB_BEGIN_REQUEST_OFF_START_CHUNK);
  if (start > count) return SB_ST_BAD_RANGE;
  s->xSlot = p[0];
  s->xShift = k;
  s->xLen = len;
  s->xCount = count;
  s->cum = start;
  s->sel = 0;
  s->xSaved = start << k;
  s->xAddr = dataAddr(p[0]);
  return SB_ST_OK;
}

// CRC: of the first len bytes of slot p[0]'s data area, from the EEPROM. Ends a transfer into
// that slot (the host then writes the slot's final record).
extern "C" uint8_t sb_on_crc(uint8_t *p) {
  sb_state *s = SB();
  uint16_t len = sb_rd16(p + SB_CRC_REQUEST_OFF_LENGTH);
  if (!len || sb_rd16(p + SB_CRC_REQUEST_OFF_LENGTH + 2) || len > s->slotSize) return SB_ST_BAD_RANGE;
  if (s->xSlot == p[0]) s->xSlot = SB_NO_SLOT;
  sb_blocks(dataAddr(p[0]), len, EE_CRC); // stages blocks at sb_f + 8 = p + 4: read before
  p[1] = p[2] = p[3] = 0;
  sb_wr32(p + SB_CRC_REPLY_OFF_CRC, ~sb_crc);
  s->rlen = SB_CRC_REPLY_SIZE;
  return SB_ST_OK;
}

// RECORD: the next version of record p[0] (0: boot, 1 + i: slot i), if the newest one is still
// the one the host read (its seq in the request). A slot under transfer is the host's again.
extern "C" uint8_t sb_on_record(uint8_t *p) {
  uint8_t r = p[0], n = r ? SB_SLOT_RECORD_SIZE : SB_BOOT_RECORD_SIZE;
  if (r > SB_FS_MAX_SLOTS || sb_f[1] != n + 1) return SB_ST_BAD_FRAME;
  recLoad(r);
  uint16_t have = sb_newest == 2 ? 0 : sb_rseq - 1;
  if (sb_rd16(p + 1) != have) return SB_ST_STALE;
  memcpy(sb_pb, p + 1, n);
  recStore(r);
  if ((uint8_t)(r - 1) == SB()->xSlot) SB()->xSlot = SB_NO_SLOT;
  return SB_ST_OK;
}

// A superblock (28 bytes at p) this node can use: its CRC, our chip, 1..FS_MAX_SLOTS slots.
// Then its layout goes into the state.
static void useLayout(uint8_t *p) {
  sb_state *s = SB();
  uint8_t n = p[SB_SUPERBLOCK_OFF_SLOT_COUNT];
  s->slots = 0;
  if (!sb_crc_ok(p, SB_SUPERBLOCK_OFF_CRC, 0) || sb_rd32(p + SB_SUPERBLOCK_OFF_CHIP_SIZE) != s->chip ||
      (uint8_t)(n - 1) >= SB_FS_MAX_SLOTS)
    return;
  s->slots = n;
  s->dataStart = sb_rd16(p + SB_SUPERBLOCK_OFF_DATA_START);
  memcpy(&s->slotSize, p + SB_SUPERBLOCK_OFF_SLOT_SIZE, 3);
}

// Reads the superblock (into sb_pb) and takes its layout, or none.
static void readLayout(void) {
  sb_ee(0, sb_pb, SB_SUPERBLOCK_SIZE, OP_READ);
  useLayout(sb_pb);
}

// WRITE: raw bytes within one page. One that touches the superblock changes the layout.
extern "C" uint8_t sb_on_write(uint8_t *p) {
  sb_state *s = SB();
  uint8_t n = sb_f[1] - SB_WRITE_REQUEST_OFF_DATA, page = s->page;
  sb_u24 a;
  memcpy(&a, p, 3);
  if (p[3] || (uint8_t)(n - 1) >= page || ((uint8_t)a & (page - 1)) + n > page || a + n > s->chip) return SB_ST_BAD_RANGE;
  eeAt(a, p + SB_WRITE_REQUEST_OFF_DATA, n, OP_WAIT);
  if (a < SB_SUPERBLOCK_SIZE) readLayout();
  return SB_ST_OK;
}

// BACKUP: this image's bytes of flash into slot p[0]'s data area (the host then checks them
// with CRC and writes the slot's record).
extern "C" uint8_t sb_on_backup(uint8_t *p) {
  sb_state *s = SB();
  if (s->appLen > s->slotSize) return SB_ST_TOO_BIG;
  if (s->xSlot == p[0]) s->xSlot = SB_NO_SLOT;
  sb_blocks(dataAddr(p[0]), s->appLen, EE_COPY);
  return SB_ST_OK;
}

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

// CONFIRM (and confirm()): the trial's image stays; the watchdog the bootloader armed stops.
extern "C" uint8_t sb_confirm(void) {
  uint8_t st = sb_boot_load();
  if (st == SB_BOOT_TRIAL) {
    bootSet(SB_BOOT_IDLE, 0, sb_pb[SB_BOOT_RECORD_OFF_SLOT], SB_NO_SLOT, SB_RESULT_CONFIRMED);
    recStore(0);
    if (!sb_err) {
      MCUSR &= ~_BV(WDRF); // while WDRF is set the watchdog cannot be turned off
      wdt_disable();
    }
    return SB_ST_OK;
  }
  // CONFIRM again after it succeeded (its reply was lost) is fine.
  return st == SB_BOOT_IDLE && sb_pb[SB_BOOT_RECORD_OFF_RESULT] == SB_RESULT_CONFIRMED ? SB_ST_OK : SB_ST_NOT_TRIAL;
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

#if SB_MAX_CHUNK == 128
// DATA frames the host may have unacknowledged. With 2, the frame after a chunk arrives while
// the chunk goes over the TWI (blocking, about 3.3 ms for 128 B): that is 38 bytes at 115200,
// which the core's 64-byte serial ring holds, but 83 at 250 kbaud, which it does not. So 2
// while the hardware UART (the line poll(Serial) serves) takes at least 60 us a byte (up to
// about 166 kbaud), else 1: one frame at a time. A byte takes (UBRR + 1) x 80 cycles with U2X
// (Arduino's choice but for 57600 at 16 MHz) and twice that without; reading only the low byte
// and assuming U2X errs towards 1, which is always safe. With 64-byte chunks the write takes
// 1.7 ms: 43 bytes even at 250 kbaud, so always 2.
#define SLOW_UBRR ((uint8_t)(F_CPU * 60e-6 / 80 - 1))
extern "C" uint8_t sb_window(void) {
  return UBRR0L >= SLOW_UBRR ? 2 : 1;
}
#else
extern "C" uint8_t sb_window(void) {
  return 2;
}
#endif

// sb_engine.S: answers every complete frame held in sb_f, keeping one that must wait;
// background work (the ACK of the last chunk, then a held frame).
extern "C" void sb_run(Print *out);
extern "C" void sb_service(void);

// ---- The sketch's side.

bool StageBoot::begin(uint32_t appVersion) {
  sb_state *s = SB();
  sb_i2c = addr_;
  // Internal pull-ups on SDA/SCL, as Wire does; real boards add external ones for 400 kHz.
  PORTC |= _BV(PORTC4) | _BV(PORTC5);
  s->chip = (sb_u24)0x8000 << chip_;
  s->page = chip_ ? 128 : 64;
  s->xSlot = SB_NO_SLOT;
  s->appVersion = appVersion;
  s->appLen = (uint16_t)__data_load_end;
  readLayout(); // else NOT_FORMATTED (blank, cut short, another chip) until the host formats
  if (sb_err) return false;
  // A watchdog left running by our own REBOOT (WDRF keeps it on after the reset) would reset
  // the sketch forever; only a trial keeps it, as the bootloader armed it.
  if (sb_boot_load() != SB_BOOT_TRIAL) {
    MCUSR &= ~_BV(WDRF);
    wdt_disable();
  }
  // The running image: this build's bytes (.text + .data); the host recognises a slot that
  // holds exactly these (length and CRC in INFO).
  sb_blocks(0, s->appLen, FLASH_CRC);
  s->appCrc = ~sb_crc;
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
  sb_drain();
  sb_err = 0;
  uint8_t st = sb_confirm();
  return !sb_err && st == SB_ST_OK;
}

bool StageBoot::inTrial() {
  sb_drain();
  return sb_boot_load() == SB_BOOT_TRIAL;
}

// NOW and NEXT_RESET install a STAGED slot; TRIAL also needs a slot that holds this very image
// (a STAGED slot with its length and CRC) to revert to: `stageboot push --activate trial`
// makes one when there is none, the sketch does not.
uint8_t StageBoot::activate(uint8_t slot, Mode mode) {
  sb_state *s = SB();
  uint8_t *h = sb_pb + SB_SLOT_RECORD_OFF_HEADER, backup = SB_NO_SLOT;
  sb_drain();
  sb_err = 0;
  if (slot >= s->slots) return SB_ST_BAD_SLOT;
  if (sb_boot_load() == SB_BOOT_TRIAL) return SB_ST_BUSY;
  if (recLoad(slot + 1) != SB_SLOT_STAGED) return SB_ST_NOT_STAGED;
  if (mode == TRIAL) {
    for (uint8_t k = 0; k < s->slots; k++)
      if (k != slot && recLoad(k + 1) == SB_SLOT_STAGED && !memcmp(h + SB_IMAGE_HEADER_OFF_LENGTH, &s->appLen, 2) &&
          !memcmp(h + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC, &s->appCrc, 4))
        backup = k;
    if (backup == SB_NO_SLOT) return SB_ST_NO_BACKUP_ROOM;
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
