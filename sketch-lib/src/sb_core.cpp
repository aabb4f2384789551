// Pure computation of the node side; see sb_core.h. Little-endian host assumed (AVR, x86).
#include "sb_core.h"
#include <string.h>
#ifdef __AVR__
#include <util/crc16.h>
#endif

uint16_t sb_crc16(uint16_t crc, const uint8_t *p, uint8_t n) {
  while (n--) {
#ifdef __AVR__
    // XMODEM's update step is CCITT-FALSE's; only the initial value (given by the caller) differs.
    crc = _crc_xmodem_update(crc, *p++);
#else
    crc ^= (uint16_t)(*p++) << 8;
    for (uint8_t k = 0; k < 8; k++) crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
#endif
  }
  return crc;
}

uint32_t sb_crc32_byte(uint32_t reg, uint8_t b) {
  reg ^= b;
  for (uint8_t k = 0; k < 8; k++) {
    // Bitwise: no table, so no flash spent on one; the EEPROM read it follows is slower anyway.
    if (reg & 1) reg = (reg >> 1) ^ 0xEDB88320UL;
    else reg >>= 1;
  }
  return reg;
}

uint32_t sb_crc32_fold(uint32_t reg, const uint8_t *p, uint16_t n) {
  while (n--) reg = sb_crc32_byte(reg, *p++);
  return reg;
}

uint32_t sb_crc32(const uint8_t *p, uint16_t n) {
  return ~sb_crc32_fold(0xFFFFFFFFUL, p, n);
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

// Looks for a complete frame at the front of the held bytes, discarding candidates that fail.
static uint8_t dec_scan(sb_decoder *d) {
  for (;;) {
    uint8_t n = d->n;
    if (n < 2) return 0;
    uint8_t len = d->buf[1];
    if (len <= SB_MAX_PAYLOAD) {
      uint8_t total = len + SB_FRAME_OVERHEAD;
      if (n < total) return 0;
      uint16_t c = sb_crc16(0xFFFF, d->buf + 1, len + 3);
      if (d->buf[len + 4] == (uint8_t)c && d->buf[len + 5] == (uint8_t)(c >> 8)) {
        d->frame = total;
        return 1;
      }
    }
    // Not a frame: only its SOF is lost; a real frame may start inside the held bytes.
    uint8_t i = 1;
    while (i < n && d->buf[i] != SB_FRAME_SOF) i++;
    d->n = n - i;
    memmove(d->buf, d->buf + i, d->n);
  }
}

uint8_t sb_dec_push(sb_decoder *d, uint8_t b) {
  if (d->n == 0 && b != SB_FRAME_SOF) return 0;
  d->buf[d->n++] = b;
  return dec_scan(d);
}

// Drops `skip` bytes, then everything up to the next SOF, and scans again.
static uint8_t dec_drop(sb_decoder *d, uint8_t skip) {
  uint8_t i = skip > d->n ? d->n : skip; // never past what is held (n would wrap)
  while (i < d->n && d->buf[i] != SB_FRAME_SOF) i++;
  d->n -= i;
  memmove(d->buf, d->buf + i, d->n);
  return dec_scan(d);
}

uint8_t sb_dec_next(sb_decoder *d) {
  return dec_drop(d, d->frame);
}

uint8_t sb_dec_idle(sb_decoder *d) {
  return d->n ? dec_drop(d, 1) : 0;
}

uint8_t sb_frame_seal(uint8_t *f, uint8_t type, uint8_t seq, uint8_t len) {
  f[0] = SB_FRAME_SOF;
  f[1] = len;
  f[2] = type;
  f[3] = seq;
  uint16_t c = sb_crc16(0xFFFF, f + 1, len + 3);
  f[len + 4] = (uint8_t)c;
  f[len + 5] = (uint8_t)(c >> 8);
  return len + SB_FRAME_OVERHEAD;
}

uint8_t sb_rec_valid(const uint8_t *rec, uint8_t size, uint8_t maxState) {
  uint8_t st = rec[2];
  return st >= 1 && st <= maxState && sb_crc32(rec, size - 4) == rd32(rec + size - 4);
}

void sb_rec_seal(uint8_t *rec, uint8_t size) {
  uint32_t c = sb_crc32(rec, size - 4);
  memcpy(rec + size - 4, &c, 4);
}

uint8_t sb_pick(uint8_t validA, uint16_t seqA, uint8_t validB, uint16_t seqB, uint16_t *nextSeq) {
  uint8_t newest;
  if (validA && (!validB || (int16_t)(seqA - seqB) > 0)) newest = 0;
  else if (validB) newest = 1;
  else {
    *nextSeq = 1;
    return SB_PICK_NONE;
  }
  *nextSeq = (uint16_t)((newest ? seqB : seqA) + 1);
  return newest;
}

uint8_t sb_header_check(const sb_image_header *h) {
  if (h->magic != SB_IMAGE_MAGIC || h->format != SB_IMAGE_FORMAT || h->headerSize != SB_IMAGE_HEADER_SIZE ||
      sb_crc32((const uint8_t *)h, SB_IMAGE_HEADER_OFF_HEADER_CRC) != h->headerCrc)
    return SB_ST_BAD_HEADER;
  return SB_ST_OK;
}

uint8_t sb_ack_classify(uint16_t cum, uint16_t sel, uint16_t chunk) {
  if (chunk < cum) return SB_ACK_DUP;
  if (chunk == cum) return SB_ACK_NEW;
  uint16_t i = chunk - cum - 1;
  if (i >= SB_ACK_WINDOW) return SB_ACK_BEYOND;
  return (sel >> i) & 1 ? SB_ACK_DUP : SB_ACK_NEW;
}

void sb_ack_mark(uint16_t *cum, uint16_t *sel, uint16_t chunk) {
  if (chunk == *cum) {
    // The next chunk's bit (bit 0) names the new cumulative; slide until a hole.
    uint16_t s = *sel, c = *cum + 1;
    while (s & 1) {
      s >>= 1;
      c++;
    }
    *sel = s >> 1;
    *cum = c;
  } else {
    *sel |= (uint16_t)(1u << (chunk - *cum - 1));
  }
}

uint8_t sb_default_slots(uint32_t chipSize) {
  return chipSize <= 32768UL ? 1 : chipSize <= 65536UL ? 2 : 4;
}

__attribute__((noinline)) uint8_t sb_plan(uint32_t chipSize, uint16_t pageSize, uint8_t slotCount, sb_superblock *sb) {
  if (slotCount < 1 || slotCount > SB_FS_MAX_SLOTS || pageSize > SB_FS_REC_PITCH) return 0;
  // Pages up to the pitch divide it, so the records end on a page boundary.
  uint16_t dataStart = (uint16_t)(SB_FS_SLOT_REC_BASE + 2 * slotCount) * SB_FS_REC_PITCH;
  uint32_t slotSize = (chipSize - dataStart) / slotCount & ~(uint32_t)(pageSize - 1);
  memset(sb, 0, sizeof(*sb));
  sb->magic = SB_FS_MAGIC;
  sb->layout = SB_FS_LAYOUT;
  sb->slotCount = slotCount;
  sb->pageSize = pageSize;
  sb->recPitch = SB_FS_REC_PITCH;
  sb->chipSize = chipSize;
  sb->dataStart = dataStart;
  sb->slotSize = slotSize;
  sb->crc = sb_crc32((const uint8_t *)sb, SB_SUPERBLOCK_OFF_CRC);
  return 1;
}
