/* Reads the receiver late, twice. For phase p (0, 1): sets GPIOR1 = p + 1 (the test then
 * sends bytes), waits 10 ms, and drains the receiver, storing UCSR0A and UDR0 for each byte:
 * result[16 * p + 1 + 2 * i] = status, [16 * p + 2 + 2 * i] = byte, result[16 * p] = count. */
#include "sim-test.h"
#include <util/delay.h>

int main(void) {
  uart_init_115200();
  for (uint8_t p = 0; p < 2; p++) {
    GPIOR1 = p + 1;
    _delay_ms(10);
    uint8_t n = 0;
    while ((UCSR0A & _BV(RXC0)) && n < 7) {
      result[16 * p + 1 + 2 * n] = UCSR0A;
      result[16 * p + 2 + 2 * n] = UDR0;
      n++;
    }
    result[16 * p] = n;
  }
  done();
}
