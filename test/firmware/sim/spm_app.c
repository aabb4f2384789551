/* Tries to erase the page at 0x1100 from the application section: SPM must do nothing.
 * result[0] = first byte of 0x1100 afterwards (expect the preloaded 0x55). */
#include "sim-test.h"
#include <avr/boot.h>
#include <avr/pgmspace.h>

int main(void) {
  boot_page_erase(0x1100);
  boot_spm_busy_wait();
  result[0] = pgm_read_byte(0x1100);
  done();
}
