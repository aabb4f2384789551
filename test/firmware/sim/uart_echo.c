/* 115200 baud (U2X, UBRR0 = 16): says "READY\n", then echoes every byte. */
#include "sim-test.h"

int main(void) {
  uart_init_115200();
  const char *s = "READY\n";
  while (*s) uart_put(*s++);
  for (;;) uart_put(uart_get());
}
