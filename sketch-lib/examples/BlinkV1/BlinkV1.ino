// BlinkV1: the "before" image of the demo. Blinks the LED on D13 at 1 Hz, prints its banner,
// and serves stageboot on the serial line so it can be updated to BlinkV2.
#include <StageBoot.h>

#define NAME "BlinkV1"
#define VERSION_TEXT "1.0.0"
#define APP_VERSION 0x010000UL
#define HALF_PERIOD_MS 500 // 1 Hz

#ifndef STAGEBOOT_CHIP
#define STAGEBOOT_CHIP StageBoot::EEPROM_24LC256
#endif

StageBoot sb(STAGEBOOT_CHIP, 0x50);
static unsigned long lastToggle;

void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
  Serial.begin(115200);
  sb.begin(APP_VERSION);
  Serial.print(F(NAME " " VERSION_TEXT));
  Serial.println(sb.inTrial() ? F(" (trial: stageboot confirm keeps it)") : F(""));
}

void loop() {
  sb.poll(Serial);
  unsigned long now = millis();
  if (now - lastToggle >= HALF_PERIOD_MS) {
    lastToggle = now;
    digitalWrite(LED_BUILTIN, !digitalRead(LED_BUILTIN));
  }
}
