// A sizeable, ordinary Arduino sketch (~29 KiB of flash) used as the payload for upload tests
// and benchmarks: Serial, Wire, float formatting and a large PROGMEM table, so the image is
// close to what real nodes ship. It prints a banner first, so a test can tell it is running.
#include <Wire.h>
#include <avr/pgmspace.h>
#include "table.h"

static const char BANNER[] PROGMEM = "big sketch: booted";

// Checksum of the whole table: reading it keeps it linked and shows the flash content is intact.
static uint16_t tableSum() {
  uint16_t sum = 0;
  for (uint16_t i = 0; i < sizeof(BIG_TABLE); i++) {
    sum = (uint16_t)((sum << 1) | (sum >> 15)) ^ pgm_read_byte(&BIG_TABLE[i]);
  }
  return sum;
}

static void printFloats() {
  for (int deg = 0; deg <= 90; deg += 15) {
    float r = deg * (float)M_PI / 180.0f;
    Serial.print(F("sin("));
    Serial.print(deg);
    Serial.print(F(")="));
    Serial.print(sin(r), 4);
    Serial.print(F(" sqrt="));
    Serial.println(sqrt((float)deg), 3);
  }
}

// Lists the I2C devices that acknowledge their address (an external EEPROM shows at 0x50).
static void scanI2c() {
  Serial.print(F("i2c:"));
  for (uint8_t addr = 0x50; addr < 0x58; addr++) {
    Wire.beginTransmission(addr);
    if (Wire.endTransmission() == 0) {
      Serial.print(F(" 0x"));
      Serial.print(addr, HEX);
    }
  }
  Serial.println();
}

void setup() {
  Serial.begin(115200);
  Serial.println((const __FlashStringHelper *)BANNER);
  Serial.print(F("table sum 0x"));
  Serial.println(tableSum(), HEX);
  printFloats();
  Wire.begin();
  scanI2c();
  Serial.println(F("big sketch: ready"));
}

void loop() {
  static unsigned long last = 0;
  unsigned long now = millis();
  if (now - last >= 1000) {
    last = now;
    Serial.print(F("uptime ms "));
    Serial.println(now);
  }
}
