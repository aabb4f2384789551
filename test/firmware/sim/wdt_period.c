/* A watchdog period changed while the counter runs. After power-on, by MODE:
 * 1 (shorten after WDR): 1 s watchdog, 100 ms later wdt_enable(WDTO_15MS), which issues WDR
 *   first: the reset is due 16 ms after the change.
 * 2 (shorten, no WDR): 1 s watchdog, 100 ms later the timed sequence alone sets 16 ms: the
 *   counter is already past 16 ms, so the reset is due at once.
 * 3 (lengthen, no WDR): 16 ms watchdog, 8 ms later the timed sequence alone sets 256 ms: the
 *   reset is due 256 ms after the enable, not 16 ms.
 * GPIOR1 = 1 marks the enable, GPIOR1 = 2 the change (the test times both). After the
 * watchdog reset: result[0] = MCUSR, watchdog off, done. */
#include "sim-test.h"
#include <avr/wdt.h>
#include <util/delay.h>

static void set_period_no_wdr(uint8_t wdp) {
  WDTCSR = _BV(WDCE) | _BV(WDE);
  WDTCSR = _BV(WDE) | wdp;
}

int main(void) {
  uint8_t mcusr = MCUSR;
  MCUSR = 0;
  if (mcusr & _BV(WDRF)) {
    wdt_disable();
    result[0] = mcusr;
    done();
  }
#if MODE == 3
  wdt_enable(WDTO_15MS);
  GPIOR1 = 1;
  _delay_ms(8);
  GPIOR1 = 2;
  set_period_no_wdr(WDTO_250MS);
#else
  wdt_enable(WDTO_1S);
  GPIOR1 = 1;
  _delay_ms(100);
  GPIOR1 = 2;
#if MODE == 1
  wdt_enable(WDTO_15MS);
#else
  set_period_no_wdr(WDTO_15MS);
#endif
#endif
  for (;;) {
  }
}
