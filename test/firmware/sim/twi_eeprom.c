/* Talks to a 24LC256 at 0x50 over TWI at 400 kHz (TWBR = 12).
 * result[0]  TWSR status after START, having written TWSR = 0 first (expect 0x08)
 * result[1]  status after SLA+W (0x18)
 * result[2..3] Timer1 cycles for an 8-byte page write at 0x013C (wraps inside the page)
 * result[4..5] NACKed address polls before the chip answered again (ACK polling)
 * result[6]  TWCR & TWINT after a STOP completed (expect 0: no TWINT after STOP)
 * result[7]  status after the repeated START of the random read (0x10)
 * result[8..15] bytes read back from 0x0100 (the 4 wrapped bytes, then untouched 0xFF) */
#include "sim-test.h"

static uint8_t twi_wait(void) {
  while (!(TWCR & _BV(TWINT))) {
  }
  return TWSR & 0xF8;
}
static uint8_t twi_start(void) {
  TWCR = _BV(TWINT) | _BV(TWSTA) | _BV(TWEN);
  return twi_wait();
}
static void twi_stop(void) {
  TWCR = _BV(TWINT) | _BV(TWSTO) | _BV(TWEN);
  while (TWCR & _BV(TWSTO)) {
  }
}
static uint8_t twi_write(uint8_t b) {
  TWDR = b;
  TWCR = _BV(TWINT) | _BV(TWEN);
  return twi_wait();
}
static uint8_t twi_read(uint8_t ack) {
  TWCR = _BV(TWINT) | _BV(TWEN) | (ack ? _BV(TWEA) : 0);
  twi_wait();
  return TWDR;
}

int main(void) {
  TWBR = 12;
  TWSR = 0;
  TCCR1B = _BV(CS10);
  result[0] = twi_start();
  result[1] = twi_write(0x50 << 1);
  uint16_t t0 = TCNT1;
  twi_write(0x01);
  twi_write(0x3C);
  for (uint8_t i = 0; i < 8; i++) twi_write(0xA0 + i);
  twi_stop();
  uint16_t dt = TCNT1 - t0;
  result[2] = dt & 0xff;
  result[3] = dt >> 8;
  result[6] = TCNT1 == 0 ? 2 : (TWCR & _BV(TWINT)) ? 1 : 0;

  uint16_t nacks = 0;
  for (;;) {
    twi_start();
    uint8_t s = twi_write(0x50 << 1);
    if (s == 0x18) break;
    nacks++;
    twi_stop();
  }
  result[4] = nacks & 0xff;
  result[5] = nacks >> 8;

  twi_write(0x01);
  twi_write(0x00);
  result[7] = twi_start();
  twi_write((0x50 << 1) | 1);
  for (uint8_t i = 0; i < 8; i++) result[8 + i] = twi_read(i < 7);
  twi_stop();
  done();
}
