/* Counts boots in internal EEPROM byte 0 (survives every reset and power loss) and copies the
 * count to result[0]; toggles PB5 every 1 ms (F_CPU decides the delay). */
#include "sim-test.h"
#include <avr/eeprom.h>
#include <util/delay.h>

int main(void) {
  uint8_t n = eeprom_read_byte((uint8_t *)0) + 1;
  eeprom_write_byte((uint8_t *)0, n);
  result[0] = n;
  DDRB = _BV(PB5);
  for (;;) {
    PINB = _BV(PB5);
    _delay_ms(1);
  }
}
