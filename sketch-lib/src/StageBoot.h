// StageBoot: power-safe over-the-air updates for ATmega328P sketches with an I2C EEPROM.
//
//   #include <StageBoot.h>
//   StageBoot sb(StageBoot::EEPROM_24LC256, 0x50);
//   void setup() { Serial.begin(115200); sb.begin(0x010000); }
//   void loop()  { sb.poll(Serial); /* your code, without long delay()s */ }
//
// The host (`stageboot push`) sends an image over the serial line; the library stores it in
// the EEPROM and, on request, asks the stageboot bootloader to install it now, at the next
// reset, or for a trial that reverts unless confirmed.
//
// Rules for the sketch:
// - Call poll() at least every 5 ms while a transfer runs (64 serial bytes at 115200 baud):
//   it never blocks longer than that. Use millis() instead of long delay()s.
// - Do not print '~' (0x7E) on the serial line the library serves: it starts a frame.
// - Wire for other I2C devices is fine between calls: the library runs its own TWI master at
//   400 kHz and puts TWBR, TWSR and TWCR back after each EEPROM transaction. Wire slave mode
//   on the same TWI is not supported. The EEPROM needs pull-ups that suit 400 kHz.
// - After a trial boot the watchdog runs (8 s): confirm() once the new code works, or the
//   bootloader reinstalls the previous image at the reset. poll() never feeds the watchdog.
// - Footprint (make -C sketch-lib footprint): added to SerialNode, 3,008 B of flash and 202 B
//   of RAM; built with 128-byte chunks (-DSTAGEBOOT_MAX_CHUNK=128, for 24LC512/1025: see
//   sb_config.h) 2,990 B and 253 B.
// - CRC (about 0.8 s for 32 KiB) and BACKUP (a copy of this image into a slot, a few seconds)
//   run inside the poll() that receives them.
#ifndef STAGEBOOT_H
#define STAGEBOOT_H

#include <Arduino.h>
#include "stageboot_protocol.h"

class StageBoot {
public:
  enum Chip : uint8_t { EEPROM_24LC256, EEPROM_24LC512, EEPROM_24LC1025 };
  enum Mode : uint8_t { NOW = SB_ACT_NOW, NEXT_RESET = SB_ACT_NEXT_RESET, TRIAL = SB_ACT_TRIAL };

  constexpr StageBoot(Chip chip, uint8_t i2cAddress = 0x50) : chip_(chip), addr_(i2cAddress) {}

  // Reads the EEPROM layout (an EEPROM without one stays blank until the host formats it, which
  // `stageboot push` does by itself; slotCount() is 0 until then) and computes the CRC of this
  // image (about 0.1 s), by which the host recognises a slot that holds it. appVersion is this
  // build's version (e.g. major << 16 | minor << 8 | patch), reported in INFO. Stops the
  // watchdog unless a trial runs (enable your own after begin()). Returns false if the EEPROM
  // does not answer.
  bool begin(uint32_t appVersion = 0);

  // Serves a serial link: reads what has arrived, answers, moves data to the EEPROM. Returns
  // at once when there is nothing to do.
  void poll(Stream &link);
  // Background work only (for sketches that pass frames in with handleFrame).
  void poll();
  // One complete frame (0x7E ... CRC) from another transport, e.g. a radio's receive
  // callback. The reply frame goes to `reply` in a single write(buf, len). Returns false when
  // the node is busy and drops the frame (the host resends it).
  bool handleFrame(const uint8_t *frame, uint8_t len, Print &reply);

  // Ends a trial: the new image stays, the watchdog stops. True on success (or if already
  // confirmed).
  bool confirm();
  // True while running a trial image that is not confirmed yet.
  bool inTrial();
  // Installs a STAGED slot: NOW reboots into the bootloader, NEXT_RESET waits for a reset.
  // TRIAL also needs a slot to revert to: one that holds this very image, else it copies
  // itself into a free slot first (a few seconds; SB_ST_NO_BACKUP_ROOM when there is none, as on
  // a one-slot 24LC256). Returns a Status (SB_ST_OK ...) unless it reboots.
  uint8_t activate(uint8_t slot, Mode mode);

  // This image's version, as given to begin().
  uint32_t version();
  // Bootloader version word (major << 8 | minor); 0xFFFF when there is no stageboot bootloader.
  uint16_t bootloaderVersion();
  uint8_t slotCount();
  // SB_SLOT_EMPTY / RECEIVING / STAGED / BAD; copies the slot's image header if hdr is given.
  uint8_t slotState(uint8_t slot, sb_image_header *hdr = nullptr);

private:
  Chip chip_;
  uint8_t addr_;
};

#endif
