// Protocol engine; see sb_engine.h, protocol/WIRE.md and protocol/STATES.md.
//
// Buffers: the frame buffer (in the decoder) holds one request and is reused for its reply;
// the page buffer holds either one chunk on its way to the EEPROM or one record being read,
// patched and written, and carries the replies sent when no request is at hand (the ACK of a
// chunk handed to the EEPROM, a job's late reply). A DATA frame is acknowledged when its bytes
// have been handed to the EEPROM (the write cycle then runs on its own), so the next chunk
// travels meanwhile.
//
// Blocking: DATA handling never waits for the EEPROM (one write attempt per service call).
// Requests the host waits on (INFO, BEGIN, FORMAT...) may wait for write cycles. The long ones
// (END's CRC of the payload, the trial's backup copy) run as jobs, one EEPROM operation per
// service call.
//
// Written for flash size (the whole library must stay near 3 KiB): shared helpers over
// special cases, no stack buffers.
#include "sb_engine.h"
#include "sb_io.h"
#include <string.h>

#define REC_BOOT 0 // record index r: 0 = boot record, 1 + i = slot i
#define MAX_STATE 4 // SB_BOOT_TRIAL and SB_SLOT_BAD: the largest known state of either record
#define PB_REC ((sb_slot_record *)pbuf())
#define PB_BOOT ((sb_boot_record *)pbuf())
#define IN_USE (SB_ROLE_PENDING | SB_ROLE_BACKUP)

enum { PB_FREE, PB_CHUNK, PB_PERSIST, PB_ACK };
// Steps in order: a job mostly moves to the next one.
enum { J_NONE, J_PERSIST, J_BACKUP_REC, J_COPY, J_CRC, J_MARK, J_ACTIVATE };

static struct {
  // EEPROM geometry; slots = 0 while the EEPROM holds no (usable) superblock.
  uint32_t chipSize, slotSize;
  uint8_t page, slots;
  // The running image.
  uint32_t appVersion, appCrc;
  uint16_t appLen;
  // The transfer under way (xSlot = SB_NO_SLOT: none). xNewest/xNext: the copy holding the
  // newest slot record and the seq of the next write, so a progress rewrite needs one read.
  uint8_t xSlot, xNewest;
  uint16_t xNext, xLen, xChunk, xCount, cum, sel, xSaved;
  uint32_t xAddr;
  // Page buffer: what it holds, and for a chunk where it goes and whom to acknowledge.
  uint8_t pbMode, pbLen, pbOff, pbSeq;
  uint16_t pbChunk;
  uint32_t pbAddr;
  void *pbOut;
  // Newest copy and next seq found by the last recLoad.
  uint8_t rNewest;
  uint16_t rSeq;
  // Job: step, the slot it reads/marks, the slot to activate after a backup, its reply.
  uint8_t job, jSlot, jTarget, jType, jSeq;
  uint16_t jLen, jOff;
  uint32_t jCrc, jExpect;
  void *jOut;
  // A frame held back (DATA waiting for the page buffer, anything during a job).
  uint8_t held, err, reboot, rlen;
  void *heldOut;
  uint8_t pb[SB_MAX_CHUNK];
  sb_decoder dec;
} S;

// The page buffer through a pointer the compiler cannot see through: fields of the records
// built in it are then written with 2-byte displacement stores, not 4-byte absolute ones.
static inline uint8_t *pbuf(void) {
  uint8_t *p = S.pb;
#ifdef __AVR__
  __asm__("" : "+b"(p));
#endif
  return p;
}

// ---- EEPROM. Errors are sticky until the next request and turn its status into EEPROM_ERROR.

static void rd(uint32_t a, uint8_t *p, uint8_t n) {
  if (sbio_read(a, p, n, 0)) S.err = 1;
}

static void wr(uint32_t a, const uint8_t *p, uint8_t n) {
  if (sbio_write(a, p, n, 1)) S.err = 1;
}

static uint32_t recAddr(uint8_t r, uint8_t copy) {
  return (uint16_t)(1 + 2 * r + copy) * SB_FS_REC_PITCH;
}

static uint8_t recSize(uint8_t r) {
  return r ? SB_SLOT_RECORD_SIZE : SB_BOOT_RECORD_SIZE;
}

static uint32_t dataAddr(uint8_t slot) {
  return (uint16_t)(SB_FS_SLOT_REC_BASE + 2 * S.slots) * SB_FS_REC_PITCH + slot * S.slotSize;
}

// Loads the newest valid copy of record r into the page buffer (zeros if none) and returns its
// state (0: none).
static uint8_t recLoad(uint8_t r) {
  uint8_t size = recSize(r), valid[2];
  uint16_t seq[2];
  for (uint8_t c = 0; c < 2; c++) {
    rd(recAddr(r, c), S.pb, size);
    valid[c] = sb_rec_valid(S.pb, size, MAX_STATE);
    memcpy(&seq[c], S.pb, 2);
  }
  S.rNewest = sb_pick(valid[0], seq[0], valid[1], seq[1], &S.rSeq);
  if (S.rNewest == SB_PICK_NONE) memset(S.pb, 0, size);
  else if (S.rNewest == 0) rd(recAddr(r, 0), S.pb, size);
  return S.rNewest == SB_PICK_NONE ? 0 : S.pb[2];
}

// Writes the page buffer as the next version of record r into the copy that does not hold the
// newest one (set up by recLoad or by a previous recStore of the same record).
static void recStore(uint8_t r) {
  uint8_t size = recSize(r), c = !S.rNewest;
  memcpy(S.pb, &S.rSeq, 2);
  sb_rec_seal(S.pb, size);
  wr(recAddr(r, c), S.pb, size);
  S.rNewest = c;
  S.rSeq++;
}

// Boot record into the page buffer, with NO_SLOT fields when there is none; returns its state.
static uint8_t bootLoad(void) {
  uint8_t st = recLoad(REC_BOOT);
  if (!st) PB_BOOT->current = PB_BOOT->slot = PB_BOOT->backup = SB_NO_SLOT;
  return st;
}

// SlotRole bits of a slot, from the boot record. Clobbers the page buffer.
static uint8_t roleOf(uint8_t s) {
  uint8_t st = bootLoad(), role = 0;
  sb_boot_record *b = PB_BOOT;
  if (b->current == s) role = SB_ROLE_CURRENT;
  if ((st == SB_BOOT_PENDING || st == SB_BOOT_INSTALLING) && b->slot == s) role |= SB_ROLE_PENDING;
  if (st == SB_BOOT_TRIAL && b->backup == s) role |= SB_ROLE_BACKUP;
  return role;
}

// A new version of slot s's record: state, an empty header (unless given), progress 0.
static void slotStore(uint8_t s, uint8_t state, const sb_image_header *h) {
  recLoad(s + 1);
  memset(S.pb, 0, SB_SLOT_RECORD_SIZE);
  PB_REC->state = state;
  PB_REC->dataAddr = dataAddr(s);
  PB_REC->capacity = S.slotSize;
  if (h) memcpy(&PB_REC->header, h, SB_IMAGE_HEADER_SIZE);
  recStore(s + 1);
}

// ---- Frames out. The payload is already at f + SB_FRAME_HEADER.

static void send(void *out, uint8_t *f, uint8_t type, uint8_t seq, uint8_t len) {
  sbio_send(out, f, sb_frame_seal(f, type | SB_REPLY_BIT, seq, len));
}

static void sendAck(void *out, uint8_t *f, uint8_t seq, uint8_t st) {
  sb_ack_reply *a = (sb_ack_reply *)(f + SB_FRAME_HEADER);
  a->status = st;
  a->reserved = 0;
  a->cumulative = S.cum;
  a->selective = S.sel;
  send(out, f, SB_MSG_DATA, seq, SB_ACK_REPLY_SIZE);
}

// ---- The page buffer on its way to the EEPROM.

static uint16_t progressNow(void) {
  uint32_t p = (uint32_t)S.cum * S.xChunk;
  return p > S.xLen ? S.xLen : (uint16_t)p;
}

// Rewrites the receiving slot's record with the current progress. The payload pages it claims
// are already written: the chip finishes one write cycle before it takes the next.
static void persist(void) {
  uint8_t r = S.xSlot + 1;
  uint16_t prog = progressNow();
  rd(recAddr(r, S.xNewest), S.pb, SB_SLOT_RECORD_SIZE);
  if (!sb_rec_valid(S.pb, SB_SLOT_RECORD_SIZE, MAX_STATE)) {
    S.xSlot = SB_NO_SLOT; // unreadable: stop; a new BEGIN finds what the EEPROM holds
    return;
  }
  PB_REC->progress = prog;
  S.rNewest = S.xNewest;
  S.rSeq = S.xNext;
  recStore(r);
  S.xNewest = S.rNewest;
  S.xNext = S.rSeq;
  S.xSaved = prog;
}

// wait = 0: one attempt per EEPROM operation; returns while the chip is busy.
static void pump(uint8_t wait) {
  if (S.pbMode == PB_CHUNK) {
    while (S.pbOff < S.pbLen) {
      uint32_t a = S.pbAddr + S.pbOff;
      uint8_t n = S.pbLen - S.pbOff, room = S.page - ((uint8_t)a & (S.page - 1));
      if (n > room) n = room; // a chunk may straddle two EEPROM pages
      uint8_t e = sbio_write(a, S.pb + S.pbOff, n, wait);
      if (e == SB_IO_BUSY) return;
      if (e) S.pbLen = 0; // given up: the host resends the chunk
      S.pbOff += n;
    }
    if (S.pbLen) sb_ack_mark(&S.cum, &S.sel, S.pbChunk);
    S.pbMode = progressNow() >= S.xSaved + SB_PERSIST_BYTES ? PB_PERSIST : PB_ACK;
  }
  if (S.pbMode == PB_PERSIST) {
    if (!wait && !sbio_ready()) return;
    persist();
  }
  // The ACK goes out only once the page buffer is free again: it lets the host send one more
  // frame, and that frame must not wait in the 64-byte serial ring behind a held one.
  if (S.pbMode) {
    S.pbMode = PB_FREE;
    sendAck(S.pbOut, S.pb, S.pbSeq, S.pbLen ? SB_ST_OK : SB_ST_EEPROM_ERROR);
  }
}

// ---- Requests. Each reads its fields from p, writes its reply over them and returns the
// reply length (0: a job replies later). p[0] of every reply is the Status.

static uint8_t checkSlot(uint8_t s) {
  if (!S.slots) return SB_ST_NOT_FORMATTED;
  return s < S.slots ? SB_ST_OK : SB_ST_BAD_SLOT;
}

static uint8_t onInfo(uint8_t *p) {
  uint8_t st = bootLoad();
  sb_info_reply *r = (sb_info_reply *)p;
  memset(r, 0, sizeof *r);
  r->protocol = SB_PROTOCOL_VERSION;
  sbio_signature(r->signature);
  r->bootState = st;
  r->blVersion = sbio_flash(SB_BL_VERSION_ADDR) | (uint16_t)sbio_flash(SB_BL_VERSION_ADDR + 1) << 8;
  r->flashSize = 32768UL;
  r->appMax = sbio_app_max();
  if (S.slots) r->chipSize = S.chipSize;
  r->pageSize = S.page;
  r->slotCount = S.slots;
  r->current = PB_BOOT->current;
  r->maxChunk = SB_MAX_CHUNK;
  r->window = SB_WINDOW;
  r->result = PB_BOOT->result;
  r->appVersion = S.appVersion;
  r->appCrc = S.appCrc;
  S.rlen = sizeof *r;
  return SB_ST_OK;
}

static uint8_t onSlot(uint8_t *p) {
  uint8_t s = p[0];
  sb_slot_reply *r = (sb_slot_reply *)p;
  r->role = roleOf(s);
  r->slot = s;
  uint8_t st = recLoad(s + 1);
  r->state = st ? st : SB_SLOT_EMPTY;
  if (!st) PB_REC->capacity = S.slotSize;
  // capacity, progress and header follow each other in both structs
  memcpy(&r->capacity, &PB_REC->capacity, 8 + SB_IMAGE_HEADER_SIZE);
  if (S.xSlot == s) r->progress = progressNow();
  S.rlen = sizeof *r;
  return SB_ST_OK;
}

static uint8_t onRead(uint8_t *p) {
  uint32_t a;
  memcpy(&a, p, 4);
  uint8_t n = p[4];
  if (n > SB_MAX_CHUNK || a + n > S.chipSize) return SB_ST_BAD_RANGE;
  // A 24LC1025's sequential read wraps at its 64 KiB block: split there.
  uint8_t first = n;
  if ((uint16_t)a + n > 0x10000UL) first = (uint8_t)(0x10000UL - (uint16_t)a);
  rd(a, p + 1, first);
  if (first < n) rd(a + first, p + 1 + first, n - first);
  S.rlen = 1 + n;
  return SB_ST_OK;
}

static uint8_t onBegin(uint8_t *p) {
  uint8_t s = p[0];
  uint16_t chunk;
  memcpy(&chunk, p + 2, 2);
  const sb_image_header *h = (const sb_image_header *)(p + SB_BEGIN_REQUEST_OFF_HEADER);
  uint8_t sig[3];
  sbio_signature(sig);
  // Every refusal comes before the first EEPROM write.
  if (chunk < SB_CHUNK_MIN || chunk > SB_MAX_CHUNK) return SB_ST_BAD_FRAME;
  if (sb_header_check(h) || !h->length) return SB_ST_BAD_HEADER;
  if (memcmp(h->signature, sig, 3)) return SB_ST_WRONG_TARGET;
  if (h->length > S.slotSize || h->loadAddr + h->length > sbio_app_max()) return SB_ST_TOO_BIG;
  if (roleOf(s) & IN_USE) return SB_ST_SLOT_IN_USE;

  uint16_t len = (uint16_t)h->length, resume = 0;
  uint8_t live = S.xSlot == s && S.xChunk == chunk;
  sb_image_header *old = &PB_REC->header;
  if (recLoad(s + 1) == SB_SLOT_RECEIVING && !memcmp(&old->length, &h->length, 8) && old->buildId == h->buildId) {
    // The same image: resume where the EEPROM (or, if the transfer never stopped, RAM) is.
    S.xSaved = (uint16_t)PB_REC->progress;
    resume = live ? S.cum : S.xSaved / chunk;
  } else {
    slotStore(s, SB_SLOT_RECEIVING, h);
    live = 0;
    S.xSaved = 0;
  }
  if (!live) S.sel = 0;
  S.cum = resume;
  S.xSlot = s;
  S.xNewest = S.rNewest;
  S.xNext = S.rSeq;
  S.xLen = len;
  S.xChunk = chunk;
  S.xCount = (len + chunk - 1) / chunk;
  S.xAddr = dataAddr(s);
  p[1] = 0;
  memcpy(p + 2, &resume, 2);
  S.rlen = SB_BEGIN_REPLY_SIZE;
  return SB_ST_OK;
}

// Returns 0 when the chunk must wait for the page buffer (the frame stays held).
static uint8_t onData(void *out, uint8_t *f) {
  uint8_t len = f[1], *p = f + SB_FRAME_HEADER, st = SB_ST_OK;
  uint16_t n;
  memcpy(&n, p, 2);
  uint8_t dlen = len - 2;
  uint16_t off = n * S.xChunk, want = S.xLen - off;
  if (want > S.xChunk) want = S.xChunk;
  if (S.xSlot == SB_NO_SLOT) st = SB_ST_NOT_RECEIVING;
  else if (n >= S.xCount) st = SB_ST_BAD_RANGE;
  else if (dlen != want) st = SB_ST_BAD_FRAME; // also a frame too short for a chunk index
  else {
    uint8_t c = sb_ack_classify(S.cum, S.sel, n);
    if (c == SB_ACK_BEYOND) return 1; // dropped: the host resends it when the window moves
    if (c == SB_ACK_NEW) {            // a duplicate is re-acknowledged, never rewritten
      if (S.pbMode) return 0;
      memcpy(S.pb, p + 2, dlen);
      S.pbMode = PB_CHUNK;
      S.pbLen = dlen;
      S.pbOff = 0;
      S.pbChunk = n;
      S.pbAddr = S.xAddr + off;
      S.pbSeq = f[3];
      S.pbOut = out;
      pump(0); // acknowledged as soon as the EEPROM has the bytes
      return 1;
    }
  }
  sendAck(out, f, f[3], st);
  return 1;
}

static void startJob(void *out, uint8_t step, uint8_t slot, uint16_t len, uint32_t expect) {
  S.jOut = out;
  S.jType = S.dec.buf[2];
  S.jSeq = S.dec.buf[3];
  S.job = step;
  S.jSlot = slot;
  S.jLen = len;
  S.jExpect = expect;
  S.jOff = 0;
  S.jCrc = 0xFFFFFFFFUL;
}

static uint8_t onEnd(void *out, uint8_t *p) {
  uint8_t s = p[0], st = recLoad(s + 1);
  uint32_t crc = PB_REC->header.payloadCrc;
  // END again after it succeeded (its reply was lost): the same answer, no second pass.
  if (st == SB_SLOT_STAGED) {
    memset(p, 0, SB_END_REPLY_SIZE);
    memcpy(p + SB_END_REPLY_OFF_CRC, &crc, 4);
    S.rlen = SB_END_REPLY_SIZE;
    return SB_ST_OK;
  }
  if (st == SB_SLOT_BAD) return SB_ST_BAD_CRC;
  if (S.xSlot != s) return SB_ST_NOT_RECEIVING;
  if (S.cum < S.xCount) return SB_ST_BAD_RANGE; // chunks still missing
  startJob(out, J_PERSIST, s, S.xLen, crc);
  return 0xFF;
}

static uint8_t onErase(uint8_t *p) {
  uint8_t s = p[0];
  if (roleOf(s) & IN_USE) return SB_ST_SLOT_IN_USE;
  if (S.xSlot == s) S.xSlot = SB_NO_SLOT;
  if (recLoad(s + 1) != SB_SLOT_EMPTY) slotStore(s, SB_SLOT_EMPTY, 0);
  return SB_ST_OK;
}

// IDLE (or PENDING) -> PENDING: the bootloader installs `slot` at the next reset.
static uint8_t markPending(uint8_t slot, uint8_t mode, uint8_t backup) {
  bootLoad();
  sb_boot_record *b = PB_BOOT;
  b->state = SB_BOOT_PENDING;
  b->flags = mode == SB_ACT_TRIAL ? SB_BOOTF_TRIAL : 0;
  b->slot = slot;
  b->backup = backup;
  b->result = SB_RESULT_NONE;
  b->attempts = 0;
  recStore(REC_BOOT);
  S.reboot = mode != SB_ACT_NEXT_RESET;
  return SB_ST_OK;
}

// Returns a Status, or 0xFF when a backup job runs first and replies later.
static uint8_t activate(void *out, uint8_t s, uint8_t mode) {
  uint8_t e = checkSlot(s);
  if (e) return e;
  if (mode > SB_ACT_TRIAL) return SB_ST_BAD_FRAME;
  if (bootLoad() == SB_BOOT_TRIAL) {
    // A retried TRIAL that already booted is done; anything else waits for CONFIRM or revert.
    return PB_BOOT->slot == s && mode == SB_ACT_TRIAL ? SB_ST_OK : SB_ST_BUSY;
  }
  if (recLoad(s + 1) != SB_SLOT_STAGED) return SB_ST_NOT_STAGED;
  uint8_t backup = SB_NO_SLOT;
  if (mode == SB_ACT_TRIAL) {
    // The backup is a slot that already holds the running image (STAGED, same length and CRC),
    // else a copy of our own flash into a slot that holds nothing worth keeping.
    uint8_t spare = SB_NO_SLOT;
    for (uint8_t i = 0; i < S.slots; i++) {
      if (i == s) continue;
      uint8_t st = recLoad(i + 1);
      sb_image_header *h = &PB_REC->header;
      if (st == SB_SLOT_STAGED && h->length == S.appLen && h->payloadCrc == S.appCrc) backup = i;
      else if (st != SB_SLOT_RECEIVING && st != SB_SLOT_STAGED) spare = i;
    }
    if (backup == SB_NO_SLOT) {
      if (spare == SB_NO_SLOT) return SB_ST_NO_BACKUP_ROOM;
      S.jTarget = s;
      startJob(out, J_BACKUP_REC, spare, S.appLen, S.appCrc);
      return 0xFF;
    }
  }
  return markPending(s, mode, backup);
}

static uint8_t confirm(void) {
  uint8_t st = bootLoad();
  sb_boot_record *b = PB_BOOT;
  if (st == SB_BOOT_TRIAL) {
    b->state = SB_BOOT_IDLE;
    b->flags = 0;
    b->backup = SB_NO_SLOT;
    b->result = SB_RESULT_CONFIRMED;
    recStore(REC_BOOT);
    if (!S.err) sbio_watchdog_off();
    return SB_ST_OK;
  }
  // CONFIRM again after it succeeded (its reply was lost) is fine.
  return st == SB_BOOT_IDLE && b->result == SB_RESULT_CONFIRMED ? SB_ST_OK : SB_ST_NOT_TRIAL;
}

// FORMAT: the superblock goes invalid first and valid last, so a cut in between reads as "not
// formatted". Each record gets a fresh version the usual way (the other copy may hold old
// data: it loses on seq). Blocks for (slots + 3) write cycles, about 30-80 ms.
static uint8_t format(uint8_t n) {
  sb_superblock *sb = (sb_superblock *)S.pb;
  if (!sb_plan(S.chipSize, S.page, n, sb)) return SB_ST_BAD_FRAME;
  S.xSlot = SB_NO_SLOT;
  S.slotSize = sb->slotSize;
  S.slots = 0;
  memset(S.pb, 0, 4);
  wr(0, S.pb, 4);
  S.slots = n; // dataAddr() needs it
  bootLoad();
  memset(S.pb + 2, 0, SB_BOOT_RECORD_SIZE - 2);
  PB_BOOT->state = SB_BOOT_IDLE;
  PB_BOOT->slot = PB_BOOT->current = PB_BOOT->backup = SB_NO_SLOT;
  recStore(REC_BOOT);
  for (uint8_t i = 0; i < n; i++) slotStore(i, SB_SLOT_EMPTY, 0);
  sb_plan(S.chipSize, S.page, n, sb);
  wr(0, S.pb, SB_SUPERBLOCK_SIZE);
  if (S.err) S.slots = 0;
  return SB_ST_OK;
}

// ---- Jobs: one EEPROM operation per step, each step starting on an idle chip.

static void jobReply(uint8_t len) {
  S.job = J_NONE;
  if (S.err) S.pb[SB_FRAME_HEADER] = SB_ST_EEPROM_ERROR, S.reboot = 0;
  send(S.jOut, S.pb, S.jType, S.jSeq, len);
  if (S.reboot) sbio_reboot(S.jOut);
}

static void jobStep(void) {
  if (!sbio_ready()) return;
  uint16_t n = S.jLen - S.jOff;
  if (n > SB_MAX_CHUNK) n = SB_MAX_CHUNK;
  uint32_t a = dataAddr(S.jSlot) + S.jOff;
  uint8_t *r = S.pb + SB_FRAME_HEADER;
  switch (S.job) {
  case J_PERSIST: // END: the final progress first, so a cut during the CRC resumes at the end
    if (S.xSaved < S.xLen) persist();
    S.job = J_CRC;
    break;
  case J_BACKUP_REC: {
    // A header for our own flash, as the host would make it (build id = payload CRC).
    sb_image_header h;
    memset(&h, 0, sizeof h);
    h.magic = SB_IMAGE_MAGIC;
    h.format = SB_IMAGE_FORMAT;
    h.headerSize = SB_IMAGE_HEADER_SIZE;
    h.flags = SB_IMGF_CONFIRMS;
    sbio_signature(h.signature);
    h.length = S.appLen;
    h.payloadCrc = h.buildId = S.appCrc;
    h.appVersion = S.appVersion;
    h.headerCrc = sb_crc32((const uint8_t *)&h, SB_IMAGE_HEADER_OFF_HEADER_CRC);
    slotStore(S.jSlot, SB_SLOT_RECEIVING, &h);
    S.job++;
    break;
  }
  case J_COPY:
    for (uint8_t k = 0; k < n; k++) S.pb[k] = sbio_flash(S.jOff + k);
    wr(a, S.pb, (uint8_t)n);
    goto advance;
  case J_CRC:
    if (sbio_read(a, 0, (uint8_t)n, &S.jCrc)) S.err = 1;
  advance:
    S.jOff += n;
    if (S.jOff >= S.jLen) S.jOff = 0, S.job++;
    break;
  case J_MARK: {
    uint32_t crc = ~S.jCrc;
    uint8_t ok = crc == S.jExpect;
    recLoad(S.jSlot + 1);
    PB_REC->state = ok ? SB_SLOT_STAGED : SB_SLOT_BAD;
    PB_REC->progress = S.jLen;
    recStore(S.jSlot + 1);
    if (S.jType == SB_MSG_END) {
      S.xSlot = SB_NO_SLOT;
      sb_end_reply *e = (sb_end_reply *)r;
      memset(e, 0, sizeof *e);
      e->status = ok ? SB_ST_OK : SB_ST_BAD_CRC;
      e->crc = crc;
      jobReply(SB_END_REPLY_SIZE);
    } else if (!ok) {
      r[0] = SB_ST_EEPROM_ERROR; // our own flash did not read back right from the EEPROM
      jobReply(1);
    } else {
      S.job++;
    }
    break;
  }
  case J_ACTIVATE:
    r[0] = markPending(S.jTarget, SB_ACT_TRIAL, S.jSlot);
    jobReply(1);
    break;
  }
}

// ---- Dispatch.

// Payload length each request must have (0xFF: unknown type).
static uint8_t requestSize(uint8_t type) {
  switch (type) {
  case SB_MSG_SLOT:
  case SB_MSG_END:
  case SB_MSG_ERASE:
  case SB_MSG_FORMAT: return 1;
  case SB_MSG_ACTIVATE: return SB_ACTIVATE_REQUEST_SIZE;
  case SB_MSG_READ: return SB_READ_REQUEST_SIZE;
  case SB_MSG_BEGIN: return SB_BEGIN_REQUEST_SIZE;
  case SB_MSG_INFO:
  case SB_MSG_CONFIRM:
  case SB_MSG_REBOOT:
  case SB_MSG_BOOT: return 0;
  }
  return 0xFF;
}

// Requests whose first byte names a slot that must exist.
static uint8_t namesSlot(uint8_t type) {
  return type == SB_MSG_SLOT || type == SB_MSG_BEGIN || type == SB_MSG_END || type == SB_MSG_ERASE;
}

// Returns 0 when the frame must stay held.
static uint8_t dispatch(void *out) {
  uint8_t *f = S.dec.buf, type = f[2];
  uint8_t *p = f + SB_FRAME_HEADER;
  if (S.job) return 0;
  if (type & SB_REPLY_BIT) return 1; // a reply (an echo on a shared link): not for us
  if (type == SB_MSG_DATA) return onData(out, f);
  while (S.pbMode) pump(1);
  S.err = S.reboot = 0;
  S.rlen = 1;
  uint8_t want = requestSize(type), st = SB_ST_UNKNOWN_TYPE;
  if (want != 0xFF) st = f[1] == want ? SB_ST_OK : SB_ST_BAD_FRAME;
  if (!st && namesSlot(type)) st = checkSlot(p[0]);
  if (!st) switch (type) {
    case SB_MSG_INFO: st = onInfo(p); break;
    case SB_MSG_SLOT: st = onSlot(p); break;
    case SB_MSG_BEGIN: st = onBegin(p); break;
    case SB_MSG_END: st = onEnd(out, p); break;
    case SB_MSG_ACTIVATE: st = activate(out, p[0], p[1]); break;
    case SB_MSG_CONFIRM: st = confirm(); break;
    case SB_MSG_ERASE: st = onErase(p); break;
    case SB_MSG_READ: st = onRead(p); break;
    case SB_MSG_REBOOT:
      if (S.xSlot != SB_NO_SLOT) persist(); // the resume after the reset loses nothing
      S.reboot = 1;
      break;
    case SB_MSG_BOOT:
      recLoad(REC_BOOT);
      memcpy(p + 1, S.pb, SB_BOOT_RECORD_SIZE);
      S.rlen = SB_BOOT_REPLY_SIZE;
      break;
    case SB_MSG_FORMAT: st = format(p[0]); break;
    }
  if (st == 0xFF) return 1; // a job answers when it is done
  if (S.err) st = SB_ST_EEPROM_ERROR, S.reboot = 0;
  if (st) S.rlen = 1;
  p[0] = st;
  send(out, f, type, f[3], S.rlen);
  if (S.reboot) sbio_reboot(out);
  return 1;
}

static void run(void *out) {
  do {
    if (!dispatch(out)) {
      S.held = 1;
      S.heldOut = out;
      return;
    }
  } while (sb_dec_next(&S.dec));
  S.held = 0;
}

uint8_t sb_wants_bytes(void) {
  return !S.held && !S.job;
}

void sb_feed(uint8_t b, void *out) {
  if (sb_dec_push(&S.dec, b)) run(out);
}

uint8_t sb_idle(void *out) {
  if (S.held || S.job) return 0;
  if (sb_dec_idle(&S.dec)) run(out);
  return S.dec.n != 0;
}

void sb_service(void) {
  pump(0);
  if (S.job) jobStep();
  if (S.held && !S.job) run(S.heldOut);
}

// ---- Sketch side.

static uint32_t flashCrc(uint16_t len) {
  uint32_t reg = 0xFFFFFFFFUL;
  for (uint16_t i = 0; i < len; i++) reg = sb_crc32_byte(reg, sbio_flash(i));
  return ~reg;
}

uint8_t sb_begin(uint32_t chipSize, uint8_t pageSize, uint32_t appVersion, uint16_t imageLen) {
  memset(&S, 0, sizeof S);
  S.chipSize = chipSize;
  S.page = pageSize;
  S.xSlot = SB_NO_SLOT;
  S.appVersion = appVersion;
  S.appLen = imageLen;
  sb_superblock *sb = (sb_superblock *)S.pb;
  rd(0, S.pb, SB_SUPERBLOCK_SIZE);
  if (S.err) return SB_ST_EEPROM_ERROR;
  if (sb->magic != SB_FS_MAGIC || sb->layout != SB_FS_LAYOUT || sb_crc32(S.pb, SB_SUPERBLOCK_OFF_CRC) != sb->crc) {
    format(sb_default_slots(chipSize)); // first use, or a FORMAT cut short
  } else if (sb->chipSize == chipSize && sb->pageSize == pageSize && sb->recPitch == SB_FS_REC_PITCH &&
             sb->slotCount && sb->slotCount <= SB_FS_MAX_SLOTS) {
    S.slots = sb->slotCount;
    S.slotSize = sb->slotSize;
  } // else laid out for another chip: NOT_FORMATTED until a FORMAT says otherwise

  // The running image came from the slot `current` names if that slot's payload is our flash.
  sb_image_header *h = &PB_REC->header;
  // A watchdog left running by our own REBOOT/ACTIVATE (WDRF keeps it on after the reset)
  // would reset the sketch forever; only a trial keeps it, as the bootloader armed it.
  if (bootLoad() != SB_BOOT_TRIAL) sbio_watchdog_off();
  uint8_t cur = PB_BOOT->current;
  if (cur < S.slots && recLoad(cur + 1) == SB_SLOT_STAGED && h->length <= sbio_app_max() &&
      flashCrc((uint16_t)h->length) == h->payloadCrc) {
    S.appLen = (uint16_t)h->length;
    S.appVersion = h->appVersion;
  }
  S.appCrc = flashCrc(S.appLen);
  return S.err ? SB_ST_EEPROM_ERROR : SB_ST_OK;
}

uint8_t sb_confirm(void) {
  while (S.pbMode) pump(1);
  S.err = 0;
  uint8_t st = confirm();
  return S.err ? SB_ST_EEPROM_ERROR : st;
}

uint8_t sb_activate(uint8_t slot, uint8_t mode) {
  while (S.pbMode) pump(1);
  S.err = S.reboot = 0;
  uint8_t st = activate(0, slot, mode);
  if (st == 0xFF) return SB_ST_BUSY; // backup copy running; the node reboots when it is done
  if (S.err) return SB_ST_EEPROM_ERROR;
  if (S.reboot) sbio_reboot(0);
  return st;
}

uint8_t sb_boot_record_get(sb_boot_record *rec) {
  while (S.pbMode) pump(1);
  uint8_t st = recLoad(REC_BOOT);
  memcpy(rec, S.pb, sizeof *rec);
  return st;
}

uint8_t sb_slot_get(uint8_t slot, sb_image_header *hdr) {
  if (slot >= S.slots) return 0;
  while (S.pbMode) pump(1);
  uint8_t st = recLoad(slot + 1);
  if (hdr) memcpy(hdr, &PB_REC->header, sizeof *hdr);
  return st ? st : SB_SLOT_EMPTY;
}

uint8_t sb_slot_count(void) {
  return S.slots;
}

uint32_t sb_app_version(void) {
  return S.appVersion;
}

uint32_t sb_app_crc(void) {
  return S.appCrc;
}
