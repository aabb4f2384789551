/* Records MCUSR and WDTCSR at each start in result[] (boot count in result[0]), then:
 * - first boot after power-on: enable the watchdog (16 ms) and wait for it to bite.
 * - second boot (after the watchdog reset): record WDTCSR without touching MCUSR, then wait;
 *   with WDRF still set the watchdog keeps running and bites again.
 * - third boot: clear WDRF, disable the watchdog, and spin (done). */
#include "sim-test.h"
#include <avr/wdt.h>

int main(void) {
  uint8_t mcusr = MCUSR;
  uint8_t n = (mcusr & _BV(PORF)) ? 0 : result[0];
  result[1 + 2 * n] = mcusr;
  result[2 + 2 * n] = WDTCSR;
  result[0] = ++n;
  if (n == 1) {
    MCUSR = 0;
    wdt_enable(WDTO_15MS);
    for (;;) {
    }
  }
  if (n == 2) {
    for (;;) {
    }
  }
  MCUSR = 0;
  wdt_disable();
  result[7] = WDTCSR;
  done();
}
