/* Toggles PB5 (the Uno LED, D13) every 1 ms and PB4 follows the PD2 input (a button). */
#include "sim-test.h"
#include <util/delay.h>

int main(void) {
  DDRB = _BV(PB5) | _BV(PB4);
  PORTD = _BV(PD2); /* pull-up on the button input */
  for (;;) {
    PINB = _BV(PB5);
    if (PIND & _BV(PD2)) PORTB |= _BV(PB4); else PORTB &= ~_BV(PB4);
    _delay_ms(1);
  }
}
