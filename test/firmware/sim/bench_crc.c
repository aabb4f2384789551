/* CPU-bound work typical of a bootloader: CRC-16/CCITT over the first 28 KiB of flash with
 * LPM, forever; GPIOR1 counts passes. */
#include "sim-test.h"
#include <avr/pgmspace.h>
#include <util/crc16.h>

int main(void) {
  for (;;) {
    uint16_t crc = 0xffff;
    for (uint16_t a = 0; a < 0x7000; a++) crc = _crc_ccitt_update(crc, pgm_read_byte(a));
    result[0] = crc & 0xff;
    result[1] = crc >> 8;
    GPIOR1++;
  }
}
