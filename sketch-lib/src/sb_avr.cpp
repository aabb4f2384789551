// sb_io.h on the ATmega328P: a polled TWI master for the I2C EEPROM, flash and fuse reads,
// the watchdog.
//
// Why not Wire: Wire buffers 32 bytes, so a 64- or 128-byte page write cannot go through it.
// Sharing the bus with Wire: every EEPROM transaction saves TWBR, the TWSR prescaler and TWCR,
// runs at 400 kHz with the TWI interrupt off (so Wire's ISR never sees our bus states), ends
// with a STOP, and puts the three registers back. A sketch may therefore use Wire for other
// devices between calls into StageBoot; Wire in slave mode on the same TWI is not supported.
#ifdef __AVR__
#include "sb_io.h"
#include <avr/boot.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/wdt.h>
#include <util/twi.h>

uint8_t sb_i2c_addr = 0x50; // 7-bit address of the EEPROM (block 0 on a 24LC1025)

#define TWBR_400K ((F_CPU / 400000UL - 16) / 2)
// Roughly 20 ms of waiting for one bus phase before declaring the bus dead.
#define PHASE_TIMEOUT 0xFFFF
// ACK-polling attempts (about 30 us each) before a write cycle counts as hung.
#define POLL_TRIES 1000

static uint8_t savedCr, savedBr, savedSr;

static void twOpen(void) {
  savedCr = TWCR;
  savedBr = TWBR;
  savedSr = TWSR;
  TWSR = 0;
  TWBR = TWBR_400K;
  TWCR = _BV(TWEN);
}

static void twClose(void) {
  TWBR = savedBr;
  TWSR = savedSr & 3;
  TWCR = savedCr & (_BV(TWEN) | _BV(TWIE) | _BV(TWEA));
}

static uint8_t twWait(void) {
  uint16_t t = PHASE_TIMEOUT;
  while (!(TWCR & _BV(TWINT)))
    if (!--t) return 0;
  return TW_STATUS;
}

static uint8_t twGo(uint8_t cr) {
  TWCR = cr | _BV(TWINT) | _BV(TWEN);
  return twWait();
}

static void twStop(void) {
  TWCR = _BV(TWINT) | _BV(TWEN) | _BV(TWSTO);
  uint16_t t = PHASE_TIMEOUT;
  while ((TWCR & _BV(TWSTO)) && --t) {
  }
}

// 8-bit SLA+W for a byte address; a 24LC1025 selects its upper 64 KiB with address bit 2.
static uint8_t sla(uint32_t a) {
  return (uint8_t)((sb_i2c_addr | ((uint8_t)(a >> 14) & 4)) << 1);
}

// START, SLA+W and, when a is not ~0, the two address bytes. Leaves the bus owned on SB_IO_OK.
static uint8_t twAddress(uint32_t a, uint8_t slaw) {
  uint8_t s = twGo(_BV(TWSTA));
  if (s != TW_START && s != TW_REP_START) return SB_IO_ERROR;
  TWDR = slaw;
  s = twGo(0);
  if (s == TW_MT_SLA_NACK) return SB_IO_BUSY;
  if (s != TW_MT_SLA_ACK) return SB_IO_ERROR;
  if (a == 0xFFFFFFFFUL) return SB_IO_OK;
  TWDR = (uint8_t)(a >> 8);
  if (twGo(0) != TW_MT_DATA_ACK) return SB_IO_ERROR;
  TWDR = (uint8_t)a;
  return twGo(0) == TW_MT_DATA_ACK ? SB_IO_OK : SB_IO_ERROR;
}

// Addresses the chip, ACK-polling a running write cycle up to `tries` times.
static uint8_t twSelect(uint32_t a, uint16_t tries) {
  uint8_t e;
  for (;;) {
    e = twAddress(a, sla(a));
    if (e != SB_IO_BUSY || !--tries) return e;
    twStop();
  }
}

uint8_t sbio_ready(void) {
  twOpen();
  uint8_t e = twAddress(0xFFFFFFFFUL, sla(0));
  twStop();
  twClose();
  return e == SB_IO_OK;
}

uint8_t sbio_write(uint32_t a, const uint8_t *p, uint8_t n, uint8_t wait) {
  twOpen();
  uint8_t e = twSelect(a, wait ? POLL_TRIES : 1);
  while (e == SB_IO_OK && n--) {
    TWDR = *p++;
    if (twGo(0) != TW_MT_DATA_ACK) e = SB_IO_ERROR;
  }
  twStop(); // the write cycle starts here
  twClose();
  return e;
}

uint32_t sb_crc32_byte(uint32_t reg, uint8_t b);

uint8_t sbio_read(uint32_t a, uint8_t *p, uint8_t n, uint32_t *crc) {
  twOpen();
  uint8_t e = twSelect(a, POLL_TRIES);
  if (e == SB_IO_OK) {
    TWDR = sla(a) | TW_READ;
    if (twGo(_BV(TWSTA)) != TW_REP_START || twGo(0) != TW_MR_SLA_ACK) e = SB_IO_ERROR;
  }
  if (e == SB_IO_OK) {
    uint8_t b = 0;
    for (uint8_t i = 0; i < n; i++) {
      // ACK every byte but the last; fold the previous byte while this one is clocked in.
      TWCR = _BV(TWINT) | _BV(TWEN) | (i + 1 < n ? _BV(TWEA) : 0);
      if (i && crc) *crc = sb_crc32_byte(*crc, b);
      if (!twWait()) {
        e = SB_IO_ERROR;
        break;
      }
      b = TWDR;
      if (p) p[i] = b;
    }
    if (n && crc) *crc = sb_crc32_byte(*crc, b);
  }
  twStop();
  twClose();
  return e;
}

uint8_t sbio_flash(uint16_t addr) {
  return pgm_read_byte(addr);
}

uint16_t sbio_app_max(void) {
  // BOOTSZ1:0 (high fuse bits 2:1): 00 = 4 KiB boot section ... 11 = 512 B.
  uint8_t bootsz = (boot_lock_fuse_bits_get(GET_HIGH_FUSE_BITS) >> 1) & 3;
  return 0x8000 - (0x1000 >> bootsz);
}

void sbio_signature(uint8_t *sig) {
  sig[0] = SIGNATURE_0;
  sig[1] = SIGNATURE_1;
  sig[2] = SIGNATURE_2;
}

void sbio_watchdog_off(void) {
  MCUSR &= ~_BV(WDRF); // while WDRF is set the watchdog cannot be turned off
  wdt_disable();
}

#endif
