/* A boot-section copier (link at 0x7000): copies 4 pages from 0x2000 to 0x1000 with page
 * erase + page write each, then marks done. Restarting it after a cut redoes the copy. */
#include "sim-test.h"
#include <avr/boot.h>
#include <avr/pgmspace.h>

int main(void) {
  for (uint16_t p = 0; p < 4; p++) {
    uint16_t src = 0x2000 + p * SPM_PAGESIZE, dst = 0x1000 + p * SPM_PAGESIZE;
    boot_page_erase(dst);
    boot_spm_busy_wait();
    boot_rww_enable();
    for (uint8_t i = 0; i < SPM_PAGESIZE; i += 2) boot_page_fill(dst + i, pgm_read_word(src + i));
    boot_page_write(dst);
    boot_spm_busy_wait();
    boot_rww_enable();
  }
  done();
}
