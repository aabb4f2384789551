/* Shared helpers for the simulator's test programs. A program reports through the array
 * `result` (found by the test via the ELF symbol table) and marks the end by writing
 * DONE_MARK to GPIOR0, then spins. */
#ifndef SIM_TEST_H
#define SIM_TEST_H
#include <avr/io.h>
#include <stdint.h>

#define DONE_MARK 0xD0

/* .noinit: survives resets other than power-on, like on silicon. */
extern volatile uint8_t result[32] __attribute__((section(".noinit")));
volatile uint8_t result[32] __attribute__((section(".noinit")));

static inline void done(void) {
  GPIOR0 = DONE_MARK;
  for (;;) {
  }
}

static inline void uart_init_115200(void) {
  UCSR0A = _BV(U2X0);
  UBRR0 = (F_CPU / 8 / 115200) - 1; /* 16 at 16 MHz: 117,647 baud */
  UCSR0B = _BV(RXEN0) | _BV(TXEN0);
}

static inline void uart_put(uint8_t c) {
  while (!(UCSR0A & _BV(UDRE0))) {
  }
  UDR0 = c;
}

static inline uint8_t uart_get(void) {
  while (!(UCSR0A & _BV(RXC0))) {
  }
  return UDR0;
}
#endif
