// Staging: receive an image now, install it later. The host stages it without activating
//   stageboot push New.hex --activate later
// and the install happens when the host says so (`stageboot activate --slot N`) or when
// someone presses the button on D2 (to ground): the sketch then installs the newest staged
// slot that is not the running image and reboots into it. Built with
// -DSTAGING_MODE=StageBoot::TRIAL (and an EEPROM with a second slot) the press installs it for
// a trial instead: the sketch first saves itself into a free slot, and the new image must
// confirm, or the next reset brings this sketch back.
#include <StageBoot.h>

#define APP_VERSION 0x010000UL
#define BUTTON_PIN 2
#ifndef STAGING_CHIP
#define STAGING_CHIP StageBoot::EEPROM_24LC256
#endif
#ifndef STAGING_MODE
#define STAGING_MODE StageBoot::NOW
#endif

StageBoot sb(STAGING_CHIP, 0x50);

// The highest-versioned STAGED slot, or SB_NO_SLOT.
static uint8_t stagedSlot() {
  uint8_t best = SB_NO_SLOT;
  uint32_t bestVersion = 0;
  sb_image_header h;
  for (uint8_t i = 0; i < sb.slotCount(); i++) {
    if (sb.slotState(i, &h) != SB_SLOT_STAGED || h.appVersion == sb.version()) continue;
    if (best == SB_NO_SLOT || h.appVersion > bestVersion) best = i, bestVersion = h.appVersion;
  }
  return best;
}

void setup() {
  pinMode(BUTTON_PIN, INPUT_PULLUP);
  Serial.begin(115200);
  sb.begin(APP_VERSION);
  Serial.print(F("Staging 1.0.0, bootloader "));
  Serial.println(sb.bootloaderVersion(), HEX);
}

void loop() {
  sb.poll(Serial);
  static unsigned long pressedAt;
  if (digitalRead(BUTTON_PIN) == LOW) {
    // Act on a press held for 50 ms, not on contact bounce.
    if (!pressedAt) pressedAt = millis() | 1;
    else if (millis() - pressedAt >= 50) {
      pressedAt = 0;
      uint8_t slot = stagedSlot();
      if (slot == SB_NO_SLOT) Serial.println(F("nothing staged"));
      else {
        Serial.print(F("installing slot "));
        Serial.println(slot);
        Serial.flush();
        // Reboots into the bootloader; returns only if it cannot (e.g. no room for a backup).
        uint8_t st = sb.activate(slot, STAGING_MODE);
        Serial.print(F("activate failed: status "));
        Serial.println(st);
      }
      while (digitalRead(BUTTON_PIN) == LOW) sb.poll(Serial);
    }
  } else {
    pressedAt = 0;
  }
}
