// What the protocol engine needs from the platform: the I2C EEPROM, the flash, the watchdog
// and a way to send reply bytes. sb_avr.cpp implements it on the ATmega328P (own polled TWI
// master); the host-side tests implement it with a model EEPROM.
#ifndef STAGEBOOT_SB_IO_H
#define STAGEBOOT_SB_IO_H

#include <stdint.h>

#define SB_IO_OK 0
#define SB_IO_BUSY 1  // the EEPROM NACKed its address: a write cycle is running
#define SB_IO_ERROR 2 // no answer, or a NACK in the middle of a transfer

// 1 when the EEPROM acknowledges its address now (no write cycle running).
uint8_t sbio_ready(void);
// Writes n bytes inside one EEPROM page. wait = 0: a single attempt, SB_IO_BUSY if the chip is
// in a write cycle; wait = 1: ACK-polls the write cycle out first (bounded, then SB_IO_ERROR).
uint8_t sbio_write(uint32_t addr, const uint8_t *p, uint8_t n, uint8_t wait);
// Sequential read inside one 64 KiB block, waiting out a write cycle. The bytes go to p when
// p is not null, and are folded into the CRC-32 register *crc when crc is not null.
uint8_t sbio_read(uint32_t addr, uint8_t *p, uint8_t n, uint32_t *crc);

uint8_t sbio_flash(uint16_t addr);
// First byte of the boot section (from the BOOTSZ fuses): the largest application.
uint16_t sbio_app_max(void);
void sbio_signature(uint8_t *sig3);

// Sends bytes on the transport a request came from (out is what the glue passed in; null: drop).
void sbio_send(void *out, const uint8_t *p, uint8_t n);
// Lets the reply leave, then resets through the watchdog. Does not return.
void sbio_reboot(void *out);
// Stops the watchdog armed for a trial boot.
void sbio_watchdog_off(void);

#endif
