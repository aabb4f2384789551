/* Logs MCUSR at each start (result[1..], count in result[0]; a power-on restarts the log),
 * clears it, then spins with PB5 high. */
#include "sim-test.h"

int main(void) {
  uint8_t mcusr = MCUSR;
  MCUSR = 0;
  if (mcusr & _BV(PORF)) result[0] = 0;
  if (result[0] < 31) result[1 + result[0]++] = mcusr;
  DDRB = _BV(PB5);
  PORTB = _BV(PB5);
  for (;;) {
  }
}
