/*
 * An application that uses the bootloader's do_spm service (Optiboot's ABI, at BL_START + 2):
 * it erases, fills and writes the page at 0x6000, tries to erase the bootloader's first page,
 * and reads the version word at 0x7FFE. It reports on the UART: "SPM <ok|bad> BL <ok|bad>
 * V<version>\n" (SPM ok: the page reads back as written and r1 came back 0 from every call, as
 * the C ABI needs). Built by test/bootloader/spm.test.ts.
 */
#include <avr/interrupt.h>
#include <avr/io.h>
#include <avr/pgmspace.h>
#include <stdint.h>

typedef void (*do_spm_t)(uint16_t address, uint8_t command, uint16_t data);
#define DO_SPM ((do_spm_t)(BL_START / 2 + 1))
#define PAGE 0x6000u

static void putch(char c)
{
  while (!(UCSR0A & _BV(UDRE0)))
    ;
  UDR0 = c;
}

static void puts_(const char *s)
{
  while (*s)
    putch(*s++);
}

static void hex4(uint16_t v)
{
  for (int8_t s = 12; s >= 0; s -= 4)
    putch("0123456789abcdef"[(v >> s) & 15]);
}

int main(void)
{
  UCSR0A = _BV(U2X0);
  UCSR0B = _BV(TXEN0);
  UBRR0L = (F_CPU / 8 / BAUD) - 1;
  cli();
  DO_SPM(PAGE, 0x03, 0); /* erase: waits, re-enables RWW */
  uint8_t r1 = 0;
  for (uint8_t i = 0; i < 64; i++) {
    DO_SPM(PAGE + 2 * i, 0x01, 0xA500 + i); /* fill: data in r1:r0, which must come back 0 */
    uint8_t z;
    __asm__ volatile("mov %0, __zero_reg__" : "=r"(z));
    r1 |= z;
  }
  DO_SPM(PAGE, 0x05, 0); /* write */
  uint8_t ok = 1;
  for (uint8_t i = 0; i < 64; i++)
    if (pgm_read_word(PAGE + 2 * i) != 0xA500 + i)
      ok = 0;
  uint16_t before = pgm_read_word(BL_START);
  DO_SPM(BL_START, 0x03, 0); /* the lock bits must refuse this */
  uint8_t bl = pgm_read_word(BL_START) == before && before != 0xFFFF;
  puts_(ok && !r1 ? "SPM ok" : "SPM bad");
  puts_(bl ? " BL ok V" : " BL bad V");
  hex4(pgm_read_word(0x7FFE));
  putch('\n');
  for (;;)
    ;
}
