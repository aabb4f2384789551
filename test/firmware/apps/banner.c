/*
 * Test application for the bootloader tests: prints "APP <VERSION>\n" on the UART every 50 ms
 * and blinks D13. Built with -DVERSION=n -DF_CPU=... so that two versions differ in content.
 * With -DCONFIRM it writes a CONFIRMED boot record (stageboot's TRIAL -> IDLE) itself, as the
 * runtime library would, and stops the watchdog. -DPAD=n adds n bytes of distinct filler so
 * an image spans many pages.
 */
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <avr/wdt.h>
#include <util/delay.h>
#include "stageboot_protocol.h"

#ifndef VERSION
#define VERSION 1
#endif
#define STR_(x) #x
#define STR(x) STR_(x)

#ifdef PAD
const uint8_t pad[PAD] PROGMEM = {[0 ... PAD - 1] = (uint8_t)(VERSION * 37)};
#endif

static void putch(char c)
{
  while (!(UCSR0A & _BV(UDRE0)))
    ;
  UDR0 = c;
}

static void puts_(const char *s)
{
  while (*s)
    putch(*s++);
}

#ifdef CONFIRM
/* Minimal I2C + CRC-32, enough to read the boot record pair and write the other copy. */
static uint8_t twi(uint8_t cr)
{
  TWCR = cr;
  while (!(TWCR & _BV(TWINT)))
    ;
  return TWSR & 0xF8;
}
static uint8_t ee_addr(uint16_t a)
{
  for (uint16_t n = 0; n < 2000; n++) {
    twi(_BV(TWINT) | _BV(TWEN) | _BV(TWSTA));
    TWDR = 0xA0;
    if (twi(_BV(TWINT) | _BV(TWEN)) == 0x18) {
      TWDR = a >> 8;
      twi(_BV(TWINT) | _BV(TWEN));
      TWDR = a;
      twi(_BV(TWINT) | _BV(TWEN));
      return 1;
    }
  }
  return 0;
}
static void ee_stop(void)
{
  TWCR = _BV(TWINT) | _BV(TWEN) | _BV(TWSTO);
  while (TWCR & _BV(TWSTO))
    ;
}
static void ee_rd(uint16_t a, uint8_t *d, uint8_t n)
{
  ee_addr(a);
  twi(_BV(TWINT) | _BV(TWEN) | _BV(TWSTA));
  TWDR = 0xA1;
  twi(_BV(TWINT) | _BV(TWEN));
  while (n--) {
    twi(_BV(TWINT) | _BV(TWEN) | (n ? _BV(TWEA) : 0));
    *d++ = TWDR;
  }
  ee_stop();
}
static uint32_t crc32(const uint8_t *p, uint8_t n)
{
  uint32_t c = 0xFFFFFFFFUL;
  while (n--) {
    c ^= *p++;
    for (uint8_t i = 0; i < 8; i++)
      c = (c >> 1) ^ (c & 1 ? 0xEDB88320UL : 0);
  }
  return ~c;
}
static uint8_t valid(sb_boot_record *r)
{
  return crc32((uint8_t *)r, 12) == r->crc && r->state >= 1 && r->state <= 4;
}
static void confirm(void)
{
  sb_boot_record a, b, *cur;
  uint16_t wr;
  TWBR = (F_CPU / 100000UL - 16) / 2;
  ee_rd(SB_FS_REC_PITCH * SB_FS_BOOT_REC_A, (uint8_t *)&a, sizeof a);
  ee_rd(SB_FS_REC_PITCH * SB_FS_BOOT_REC_B, (uint8_t *)&b, sizeof b);
  uint8_t va = valid(&a), vb = valid(&b);
  if (va && (!vb || (int16_t)(a.seq - b.seq) > 0)) {
    cur = &a;
    wr = SB_FS_REC_PITCH * SB_FS_BOOT_REC_B;
  } else if (vb) {
    cur = &b;
    wr = SB_FS_REC_PITCH * SB_FS_BOOT_REC_A;
  } else {
    return;
  }
  if (cur->state != SB_BOOT_TRIAL)
    return;
  cur->seq++;
  cur->state = SB_BOOT_IDLE;
  cur->result = SB_RESULT_CONFIRMED;
  cur->crc = crc32((uint8_t *)cur, 12);
  ee_addr(wr);
  for (uint8_t i = 0; i < sizeof *cur; i++) {
    TWDR = ((uint8_t *)cur)[i];
    twi(_BV(TWINT) | _BV(TWEN));
  }
  ee_stop();
  wdt_disable();
  puts_("CONFIRMED\n");
}
#endif

int main(void)
{
  MCUSR = 0;
  UCSR0A = _BV(U2X0);
  UCSR0B = _BV(TXEN0);
  UBRR0L = F_CPU / 8 / BAUD - 1;
  DDRB = _BV(DDB5);
#ifdef CONFIRM
  confirm();
#endif
  for (;;) {
    puts_("APP " STR(VERSION) "\n");
#ifdef PAD
    putch(pgm_read_byte(&pad[VERSION]));
#endif
    PINB = _BV(PINB5);
    _delay_ms(50);
  }
}
