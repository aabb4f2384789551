// The Arduino face of the engine: Stream/Print transports, the image's own size, and the
// queries a sketch makes.
#include "StageBoot.h"
#include "sb_engine.h"
#include "sb_io.h"
#include <avr/pgmspace.h>
#include <avr/wdt.h>

extern uint8_t sb_i2c_addr;
// End of .text + .data in flash (avr-libc's linker script): the length of this image's payload.
extern const char __data_load_end[];

void sbio_send(void *out, const uint8_t *p, uint8_t n) {
  if (out) static_cast<Print *>(out)->write(p, n);
}

void sbio_reboot(void *out) {
  if (out) static_cast<Print *>(out)->flush(); // let the reply leave the UART first
  wdt_enable(WDTO_15MS);
  for (;;) {
  }
}

bool StageBoot::begin(uint32_t appVersion) {
  sb_i2c_addr = addr_;
  // Internal pull-ups on SDA/SCL, as Wire does; real boards add external ones for 400 kHz.
  PORTC |= _BV(PORTC4) | _BV(PORTC5);
  uint32_t size = chip_ == EEPROM_24LC256 ? 32768UL : chip_ == EEPROM_24LC512 ? 65536UL : 131072UL;
  uint8_t page = chip_ == EEPROM_24LC256 ? 64 : 128;
  return sb_begin(size, page, appVersion, (uint16_t)__data_load_end) == SB_ST_OK;
}

// millis() (low bits) when the last byte arrived: a partial frame older than IDLE_MS is dropped.
static uint8_t lastRx;
#define IDLE_MS 3

void StageBoot::poll(Stream &link) {
  sb_service();
  while (sb_wants_bytes()) {
    int c = link.read();
    if (c < 0) {
      if ((uint8_t)((uint8_t)millis() - lastRx) > IDLE_MS) sb_idle(&link);
      break;
    }
    lastRx = (uint8_t)millis();
    sb_feed((uint8_t)c, &link);
  }
}

void StageBoot::poll() {
  sb_service();
}

bool StageBoot::handleFrame(const uint8_t *frame, uint8_t len, Print &reply) {
  sb_service();
  if (!sb_wants_bytes()) return false;
  while (len--) sb_feed(*frame++, &reply);
  // A packet is a whole frame: nothing of it may wait for the next packet.
  while (sb_idle(&reply)) {
  }
  return true;
}

bool StageBoot::confirm() {
  return sb_confirm() == SB_ST_OK;
}

bool StageBoot::inTrial() {
  sb_boot_record r;
  return sb_boot_record_get(&r) == SB_BOOT_TRIAL;
}

uint8_t StageBoot::activate(uint8_t slot, Mode mode) {
  return sb_activate(slot, mode);
}

uint32_t StageBoot::version() {
  return sb_app_version();
}

uint16_t StageBoot::bootloaderVersion() {
  return pgm_read_word(SB_BL_VERSION_ADDR);
}

uint8_t StageBoot::slotCount() {
  return sb_slot_count();
}

uint8_t StageBoot::slotState(uint8_t slot, sb_image_header *hdr) {
  return sb_slot_get(slot, hdr);
}
