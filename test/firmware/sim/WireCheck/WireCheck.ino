// Arduino Wire + Serial against the simulated 24LC256: write 16 bytes, ACK-poll with
// endTransmission(), random-read them back, print "OK <error> <polls>", then echo bytes + 1.
#include <Wire.h>
void setup() {
  Serial.begin(115200);
  Wire.begin();
  Wire.setClock(400000);
  Wire.beginTransmission(0x50);
  Wire.write(0x01); Wire.write(0x00);
  for (uint8_t i = 0; i < 16; i++) Wire.write(0x30 + i);
  uint8_t e = Wire.endTransmission();
  uint16_t polls = 0;
  for (;;) { Wire.beginTransmission(0x50); if (Wire.endTransmission() == 0) break; polls++; }
  Wire.beginTransmission(0x50);
  Wire.write(0x01); Wire.write(0x00);
  Wire.endTransmission(false);
  Wire.requestFrom(0x50, 16);
  uint8_t ok = 1;
  for (uint8_t i = 0; i < 16; i++) if (Wire.read() != 0x30 + i) ok = 0;
  Serial.print(ok ? "OK " : "BAD ");
  Serial.print(e);
  Serial.print(' ');
  Serial.println(polls);
}
void loop() {
  if (Serial.available()) Serial.write(Serial.read() + 1);
}
