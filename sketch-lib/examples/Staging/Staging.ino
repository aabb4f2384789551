// Staging: receive an image now, install it later. The host stages it without activating
//   stageboot push New.hex --activate later
// and the install happens when the host says so (`stageboot activate --slot N`) or when
// someone presses the button on D2 (to ground): the sketch then installs the newest staged
// slot that is not the running image and reboots into it.
#include <StageBoot.h>

#define APP_VERSION 0x010000UL
#define BUTTON_PIN 2

StageBoot sb(StageBoot::EEPROM_24LC256, 0x50);

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
        sb.activate(slot, StageBoot::NOW); // reboots into the bootloader
      }
      while (digitalRead(BUTTON_PIN) == LOW) sb.poll(Serial);
    }
  } else {
    pressedAt = 0;
  }
}
