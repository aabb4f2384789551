/* Self-programming from the boot section (link at 0x7000, BOOTSZ = 2048 words).
 * The test preloads 0x55 into the pages at 0x1100 and 0x1200 and 0x7F00.
 * result[0]  LPM of 0x1100 while an RWW page erase is busy (expect 0xFF: RWW blocked)
 * result[1]  busy polls (SPMEN still set) seen during that erase, saturating at 255
 * result[2]  LPM of 0x1100 after the erase but before RWWSRE (expect 0xFF: RWWSB set)
 * result[3]  RWWSB after the erase (expect 1)
 * result[4]  LPM of 0x1100 after RWWSRE (expect 0x55)
 * result[5]  1 if the page at 0x1000 reads back the words written through the page buffer
 * result[6..7] Timer1 ticks (clk/8) across an NRWW page erase at 0x7F00 (CPU halted)
 * result[8]  SPMEN right after that erase (expect 0)
 * result[9]  first byte of 0x7F00 after the erase (0xFF, or 0x55 if a lock bit refused it)
 * result[10] first byte of 0x1200 after an erase with SPM 6 cycles after SPMCSR (expect 0x55)
 * result[11] first byte of 0x1200 after an erase with SPM right after SPMCSR (expect 0xFF) */
#include "sim-test.h"
#include <avr/boot.h>
#include <avr/pgmspace.h>

static void erase_spm_after(uint16_t addr, uint8_t late) {
  uint8_t cmd = _BV(PGERS) | _BV(SPMEN);
  if (late) {
    __asm__ volatile("movw r30, %0\n\tout %1, %2\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tnop\n\tspm\n"
                     ::"r"(addr), "I"(_SFR_IO_ADDR(SPMCSR)), "r"(cmd) : "r30", "r31");
  } else {
    __asm__ volatile("movw r30, %0\n\tout %1, %2\n\tspm\n"
                     ::"r"(addr), "I"(_SFR_IO_ADDR(SPMCSR)), "r"(cmd) : "r30", "r31");
  }
  boot_spm_busy_wait();
  boot_rww_enable();
}

int main(void) {
  uint8_t polls = 0;
  boot_page_erase(0x1000);
  result[0] = pgm_read_byte(0x1100);
  while (boot_spm_busy()) {
    if (polls < 255) polls++;
  }
  result[1] = polls;
  result[2] = pgm_read_byte(0x1100);
  result[3] = boot_rww_busy() ? 1 : 0;
  boot_rww_enable();
  result[4] = pgm_read_byte(0x1100);

  for (uint8_t i = 0; i < SPM_PAGESIZE / 2; i++) boot_page_fill(0x1000 + 2 * i, 0x1234 + i);
  boot_page_write(0x1000);
  boot_spm_busy_wait();
  boot_rww_enable();
  uint8_t ok = 1;
  for (uint8_t i = 0; i < SPM_PAGESIZE / 2; i++) {
    if (pgm_read_word(0x1000 + 2 * i) != 0x1234 + i) ok = 0;
  }
  result[5] = ok;

  TCCR1B = _BV(CS11);
  uint16_t t0 = TCNT1;
  boot_page_erase(0x7F00);
  uint16_t t1 = TCNT1;
  result[8] = SPMCSR & _BV(SPMEN);
  boot_spm_busy_wait();
  uint16_t dt = t1 - t0;
  result[6] = dt & 0xff;
  result[7] = dt >> 8;
  result[9] = pgm_read_byte(0x7F00);

  erase_spm_after(0x1200, 1);
  result[10] = pgm_read_byte(0x1200);
  erase_spm_after(0x1200, 0);
  result[11] = pgm_read_byte(0x1200);
  done();
}
