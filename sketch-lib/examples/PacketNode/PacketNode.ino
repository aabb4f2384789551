// PacketNode: stageboot through handleFrame(), the path a radio driver takes. The serial line
// stands in for the radio: the sketch collects each frame into a packet buffer no larger than
// an RFM69 packet (61 bytes) and hands the whole packet to sb.handleFrame(), as a radio sketch
// does from its receive routine. Chunks of 32 bytes make 40-byte DATA frames:
//
//   stageboot push MySketch.hex --chunk 32 --activate now
//
// Replies go back on Serial here (a radio sketch passes a Print that sends each write() as
// one packet). Requests and most replies fit 61 bytes; a SLOT reply is 63.
#include <StageBoot.h>

#define APP_VERSION 0x010000UL
#define PACKET_MAX 61 // payload bytes of an RFM69 packet (LowPowerLab's RFM69 library)

StageBoot sb(StageBoot::EEPROM_24LC256, 0x50);

static uint8_t packet[PACKET_MAX];
static uint8_t got;   // bytes of the frame collected so far
static bool full;     // packet holds a whole frame that handleFrame() has not taken yet
static unsigned long lastByte;

// Collects one frame (SOF, length byte, then length + 4 more bytes); true once it is whole.
// A radio delivers a packet whole or not at all, so bytes outside a frame, a frame longer than
// a packet and a frame cut short (the line quiet for 5 ms) are dropped.
static bool receive() {
  while (Serial.available()) {
    uint8_t c = Serial.read();
    lastByte = millis();
    if (got == 0 && c != SB_FRAME_SOF) continue;
    if (got == 1 && c + SB_FRAME_OVERHEAD > PACKET_MAX) { got = 0; continue; }
    packet[got++] = c;
    if (got > 1 && got == packet[1] + SB_FRAME_OVERHEAD) return true;
  }
  if (got && millis() - lastByte > 5) got = 0;
  return false;
}

void setup() {
  Serial.begin(115200);
  sb.begin(APP_VERSION);
  Serial.println(F("PacketNode 1.0.0"));
}

void loop() {
  sb.poll(); // background work: chunks on their way to the EEPROM and their acks
  if (!full) full = receive();
  // While the library is busy with the previous chunk it refuses the packet: keep it and offer
  // it again (a radio keeps it in its FIFO), reading nothing more meanwhile.
  if (full && sb.handleFrame(packet, got, Serial)) full = false, got = 0;
}
