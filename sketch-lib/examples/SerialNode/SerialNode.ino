// SerialNode: the sketch to start from. It serves stageboot on the serial line so the host
// can push a new image, stage it and activate it; put your own code in loop().
//
//   stageboot push MySketch.hex --activate trial    (then: stageboot confirm)
//
// Keep every pass through loop() short (use millis(), not long delay()s): poll() must run at
// least every 5 ms while an image is arriving.
#include <StageBoot.h>

#ifndef STAGEBOOT_CHIP
#define STAGEBOOT_CHIP StageBoot::EEPROM_24LC256
#endif
#ifndef STAGEBOOT_BAUD
#define STAGEBOOT_BAUD 115200
#endif
#define APP_VERSION 0x010000UL // 1.0.0: the host shows it in `stageboot info`

StageBoot sb(STAGEBOOT_CHIP, 0x50); // EEPROM chip and its I2C address (A2..A0 low: 0x50)

void setup() {
  Serial.begin(STAGEBOOT_BAUD);
  sb.begin(APP_VERSION);
  Serial.println(F("SerialNode 1.0.0"));
}

void loop() {
  sb.poll(Serial);
  // Your code here. A trial image confirms itself once it knows it works, for instance:
  //   if (sensorsOk && sb.inTrial()) sb.confirm();
  // or lets the host send CONFIRM (`stageboot confirm`).
}
