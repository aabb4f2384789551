/*
 * stageboot: a 1 KiB bootloader for the ATmega328P (boot section 0x7C00-0x7FFF).
 *
 *  1. Serial uploads: the STK500v1 subset avrdude -c arduino and the Arduino IDE use, as Optiboot,
 *     but each page's erase starts while its bytes still arrive and its write runs while the host
 *     sends the next page (the bootloader runs from NRWW; application pages are RWW).
 *  2. Power-safe apply of an image staged in an I2C EEPROM (24LC256/512/1025), following the
 *     boot record state machine of protocol/STATES.md: every check before the first erase, a
 *     copy that a power cut only delays, a read-back CRC-32 of flash, trial boot with revert.
 *  3. Services: do_spm at 0x7C02 (Optiboot's ABI) and the version word at 0x7FFE.
 *
 * The program is hand-allocated AVR code in GCC inline assembly: the same logic in C came out at
 * 2.2 KB with avr-gcc 5.4 -Os. Constants and record offsets come from the generated protocol
 * header as asm operands, never retyped. Size tricks are marked "size:".
 *
 * Registers, for the whole program:
 *   r1 zero; r2..r5 running CRC-32 (uninverted); r16..r19 the CRC polynomial 0xEDB88320;
 *   Y = 0x100, the boot record (Y+0) and the slot record (Y+16); r8:r9 where the next boot record
 *   write goes; GPIOR0 the reset cause (MCUSR).
 * SRAM (never initialised, no .data/.bss: size): 0x100 boot record, 0x110 slot record, 0x148 the
 * other copy while two are compared, 0x200 a page buffer, 0x300 pass 1's per-page "differs".
 */
#include <avr/io.h>
#include "stageboot_protocol.h"

#ifndef BL_START
#define BL_START 0x7C00 /* 512-word boot section */
#endif
#ifndef BL_MAJOR
#define BL_MAJOR 1
#endif
#ifndef BL_MINOR
#define BL_MINOR 0
#endif

/* 400 kHz SCL = F_CPU / (16 + 2 * TWBR), prescaler 1. */
#define TWBR_400K ((F_CPU / 400000UL - 16) / 2)
/* U2X, UBRR 16: 117,647 baud at 16 MHz ("115200"), 58,824 at 8 MHz ("57600"). */
#define UBRR_VALUE ((F_CPU / 8 / BAUD_RATE) - 1)

#define RAM_BR 0x100
#define RAM_SR (RAM_BR + SB_BOOT_RECORD_SIZE)
#define RAM_TMP (RAM_SR + SB_SLOT_RECORD_SIZE)
#define RAM_BUF 0x200
#define RAM_DIFF 0x300

_Static_assert(RAM_TMP + SB_SLOT_RECORD_SIZE <= RAM_BUF, "records overlap the page buffer");
_Static_assert(SB_FS_REC_PITCH == 0x80 && SB_FS_BOOT_REC_A == 1 && SB_FS_BOOT_REC_B == 2 && SB_FS_SLOT_REC_BASE == 3,
               "record addresses are computed for a 128-byte pitch");
_Static_assert(SB_BOOT_RECORD_OFF_CRC == 12 && SB_BOOT_RECORD_SIZE == 16, "boot record layout");
_Static_assert(SB_BOOT_RECORD_SIZE + SB_SLOT_RECORD_OFF_HEADER + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC + 3 < 64,
               "slot record fields must be reachable by ldd Y+q");

#define SR(off) (SB_BOOT_RECORD_SIZE + (off))
#define HDR(off) SR(SB_SLOT_RECORD_OFF_HEADER + (off))

#define TWGO (_BV(TWINT) | _BV(TWEN))
#define STR_(x) #x
#define STR(x) STR_(x)

/* The version word at the end of flash (SB_BL_VERSION_ADDR), as Optiboot keeps its own. */
const unsigned short sb_version __attribute__((used, section(".version"))) = (BL_MAJOR << 8) | BL_MINOR;

/* ============================================================ entry, do_spm, start-up */
__attribute__((naked, used, section(".vectors"))) static void entry(void)
{
  asm volatile(
      "    rjmp  main\n"
      /*
       * 0x7C02 do_spm(uint16_t address r25:r24, uint8_t command r22, uint16_t data r21:r20):
       * Optiboot's ABI (fill 0x01, erase 0x03, write 0x05). Waits for completion and re-enables
       * the RWW section after an erase or write, so the call can return into the application.
       * As with Optiboot, the caller keeps interrupts off during the call; the boot lock bits
       * (lock byte 0x0F, see README.md) keep SPM away from the bootloader's own pages.
       * size: the body sits at 0x7C02 itself, not behind a second rjmp.
       */
      ".global do_spm\n"
      "do_spm:\n"
      "    movw  r30, r24\n"
      "    movw  r0, r20\n"
      "    mov   r24, r22\n"
      "    rcall spm_go\n"
      "    clr   r1\n"
      "    andi  r22, 0x06\n" /* erase or write: wait, then re-enable RWW */
      "    brne  rww\n"
      "    ret\n"
      "main:\n"
      "    clr   r1\n"
      "    in    r24, %[mcusr]\n"
      "    out   %[mcusr], r1\n"
      "    out   %[gpior0], r24\n" /* size: the reset cause waits in GPIOR0, testable by sbic */
      "    clr   r24\n"
      "    rcall wd\n" /* a watchdog reset leaves the watchdog running */
      "    ldi   r24, %[twbr]\n"
      "    sts   %[TWBR_], r24\n"
      "    ldi   r16, 0x20\n"
      "    ldi   r17, 0x83\n"
      "    ldi   r18, 0xB8\n"
      "    ldi   r19, 0xED\n"
      "    ldi   r28, lo8(%[br])\n"
      "    ldi   r29, hi8(%[br])\n"
      "    rcall boot\n"
      "    tst   r24\n"
      "    breq  1f\n"
      "    cpi   r24, %[trial]\n" /* just installed: run it; a trial must confirm within 8 s */
      "    brne  app\n"
      "    ldi   r24, %[wd8s]\n"
      "    rcall wd\n"
      "    rjmp  app\n"
      "1:  sbic  %[gpior0], %[extrf]\n" /* external reset: the host may be about to upload */
      "    rjmp  serial\n"
      "    clr   r30\n" /* no application (erased reset vector): never jump into it */
      "    clr   r31\n"
      "    lpm   r24, Z+\n"
      "    lpm   r25, Z\n"
      "    adiw  r24, 1\n"
      "    brne  app\n"
      "    rjmp  serial\n"
      "app:\n"
      "    sts   %[TWCR_], r1\n" /* give A4/A5 back to the application */
      "    jmp   0\n"
      ::[blhi] "M"(BL_START >> 8),
      [sreg] "I"(_SFR_IO_ADDR(SREG)), [mcusr] "I"(_SFR_IO_ADDR(MCUSR)), [gpior0] "I"(_SFR_IO_ADDR(GPIOR0)),
      [extrf] "I"(EXTRF), [twbr] "M"(TWBR_400K), [TWBR_] "n"(_SFR_MEM_ADDR(TWBR)), [TWCR_] "n"(_SFR_MEM_ADDR(TWCR)),
      [br] "i"(RAM_BR), [trial] "M"(SB_BOOT_TRIAL), [wd8s] "M"(_BV(WDE) | _BV(WDP3) | _BV(WDP0)));
}

/* ============================================================ flash and watchdog helpers */
__attribute__((naked, used)) static void chunk_flash(void)
{
  asm volatile(
      /* wd: watchdog := r24 (timed sequence) */
      "wd:\n"
      "    ldi   r25, %[wdce]\n"
      "    sts   %[WDTCSR_], r25\n"
      "    sts   %[WDTCSR_], r24\n"
      "    ret\n"
      /* rww: wait for the running erase/write, then make the RWW section readable again */
      "rww:\n"
      "    rcall spm_wait\n"
      "    ldi   r24, %[rwwsre]\n"
      /* spm_go: start SPM command r24 on address Z (data in r1:r0); does not wait */
      "spm_go:\n"
      "    out   %[spmcsr], r24\n"
      "    spm\n"
      "    ret\n"
      /* spm_do: the same, and wait for it to finish */
      "spm_do:\n"
      "    rcall spm_wait\n"
      "    rcall spm_go\n"
      "spm_wait:\n" /* clobbers r25 only: spm_do's command waits in r24 */
      "    in    r25, %[spmcsr]\n"
      "    sbrc  r25, %[spmen]\n"
      "    rjmp  spm_wait\n"
      "    ret\n"
      /* fill: load r20 bytes (even) from X into the page buffer at Z (Z advances) */
      "fill:\n"
      "    ld    r0, X+\n"
      "    ld    r1, X+\n"
      "    ldi   r24, %[spmen_bit]\n"
      "    out   %[spmcsr], r24\n"
      "    spm\n"
      "    adiw  r30, 2\n"
      "    subi  r20, 2\n"
      "    brne  fill\n"
      "    clr   r1\n"
      "    ret\n" ::[wdce] "M"(_BV(WDCE) | _BV(WDE)),
      [WDTCSR_] "n"(_SFR_MEM_ADDR(WDTCSR)), [rwwsre] "M"(_BV(RWWSRE) | _BV(SPMEN)),
      [spmcsr] "I"(_SFR_IO_ADDR(SPMCSR)), [spmen] "I"(SPMEN), [spmen_bit] "M"(_BV(SPMEN)));
}

/* ============================================================ CRC-32 and I2C EEPROM */
/*
 * Conventions: C set = success/valid. EEPROM address in r21 (bit 16) : r23 : r22.
 * crc8: r24 = byte into the running CRC r2..r5; clobbers r24. Bitwise, no table (size): about
 * 90 cycles a byte, less than one byte time at 400 kHz even at 8 MHz, so ee_read sums each byte
 * while the next one is on the bus.
 */
__attribute__((naked, used)) static void chunk_eeprom(void)
{
  asm volatile(
      "crc_init:\n"
      "    ldi   r24, 0xFF\n"
      "    mov   r2, r24\n"
      "    mov   r3, r24\n"
      "    movw  r4, r2\n"
      "    ret\n"

      "crc8:\n"
      "    eor   r2, r24\n"
      "    ldi   r24, 8\n"
      "1:  lsr   r5\n"
      "    ror   r4\n"
      "    ror   r3\n"
      "    ror   r2\n"
      "    brcc  2f\n"
      "    eor   r2, r16\n"
      "    eor   r3, r17\n"
      "    eor   r4, r18\n"
      "    eor   r5, r19\n"
      "2:  dec   r24\n"
      "    brne  1b\n"
      "    ret\n"

      /* TWI, polled. twi: TWCR := r24, wait for TWINT, r24 := TWSR (prescaler bits are 0) */
      "tw_start:\n"
      "    ldi   r24, %[go_sta]\n"
      "    rjmp  twi\n"
      "tw_send:\n"
      "    sts   %[TWDR_], r24\n"
      "    ldi   r24, %[go]\n"
      "twi:\n"
      "    sts   %[TWCR_], r24\n"
      "twwait:\n"
      "    lds   r24, %[TWCR_]\n"
      "    sbrs  r24, %[twint]\n"
      "    rjmp  twwait\n"
      "    lds   r24, %[TWSR_]\n"
      "    ret\n"
      "tw_stop:\n"
      "    ldi   r24, %[go_sto]\n"
      "    sts   %[TWCR_], r24\n"
      "1:  lds   r24, %[TWCR_]\n"
      "    sbrc  r24, %[twsto]\n"
      "    rjmp  1b\n"
      "    ret\n"

      /* ee_begin: START, SLA+W until the chip ACKs (ACK polling: it NACKs during a write cycle;
         256 tries of 10 SCL periods outlast a 5 ms cycle), then the address. 24LC1025: address
         bit 16 is block bit B0 of the device address. r25 := SLA+W. Clobbers r0, r24. */
      "ee_begin:\n"
      "    ldi   r25, 0xA0\n"
      "    sbrc  r21, 0\n"
      "    ori   r25, 0x08\n"
      "    clr   r0\n"
      "1:  rcall tw_start\n"
      "    mov   r24, r25\n"
      "    rcall tw_send\n"
      "    cpi   r24, %[mt_sla_ack]\n"
      "    breq  2f\n"
      "    dec   r0\n"
      "    brne  1b\n"
      "    clc\n"
      "    ret\n"
      "2:  mov   r24, r23\n"
      "    rcall tw_send\n"
      "    mov   r24, r22\n"
      "    rcall tw_send\n"
      "    sec\n"
      "    ret\n"

      /* ee_read: sequential read of r20 (1..255) bytes into X, summed into the CRC.
         Clobbers r0, r20, r24, r25. */
      "ee_read:\n"
      "    rcall ee_begin\n"
      "    brcc  9f\n"
      "    rcall tw_start\n"
      "    mov   r24, r25\n"
      "    ori   r24, 1\n"
      "    rcall tw_send\n"
      "    cpi   r24, %[mr_sla_ack]\n"
      "    brne  8f\n"
      "    rcall 5f\n"
      "1:  rcall twwait\n"
      "    lds   r25, %[TWDR_]\n"
      "    st    X+, r25\n"
      "    dec   r20\n"
      "    breq  2f\n"
      "    rcall 5f\n" /* next byte on the bus ... */
      "    mov   r24, r25\n"
      "    rcall crc8\n" /* ... while this one is summed */
      "    rjmp  1b\n"
      "2:  mov   r24, r25\n"
      "    rcall crc8\n"
      "    rcall tw_stop\n"
      "    sec\n"
      "9:  ret\n"
      "8:  clc\n"
      "    ret\n"
      "5:  ldi   r24, %[go_ea]\n" /* clock in a byte; NACK the last one */
      "    cpi   r20, 2\n"
      "    brsh  6f\n"
      "    ldi   r24, %[go]\n"
      "6:  sts   %[TWCR_], r24\n"
      "    ret\n"

      /* residue: Z set if the CRC over a block and its stored CRC-32 (little endian) leaves
         the CRC-32 residue; size: no need to locate or invert the CRC field */
      "residue:\n"
      "    ldi   r24, 0xE3\n"
      "    cp    r2, r24\n"
      "    ldi   r24, 0x20\n"
      "    cpc   r3, r24\n"
      "    ldi   r24, 0xBB\n"
      "    cpc   r4, r24\n"
      "    ldi   r24, 0xDE\n"
      "    cpc   r5, r24\n"
      "    ret\n"
      /* crc_ram: r20 bytes at X into the CRC */
      "crc_ram:\n"
      "    ld    r24, X+\n"
      "    rcall crc8\n"
      "    dec   r20\n"
      "    brne  crc_ram\n"
      "    ret\n"

      /* rec_read: one record copy of r20 bytes at r23:r22 into X. Valid (C set) if its CRC
         holds and its state is known: 1..4 for both record kinds. */
      "rec_read:\n"
      "    movw  r30, r26\n"
      "    rcall crc_init\n"
      "    clr   r21\n"
      "    rcall ee_read\n"
      "    brcc  9f\n"
      "    rcall residue\n"
      "    brne  8b\n"
      "    ldd   r24, Z+%[o_state]\n"
      "    subi  r24, 1\n"
      "    cpi   r24, 4\n" /* C set: 1..4 */
      "9:  ret\n"

      /* rec_get: the newest valid of the two copies at r23:r22 (A) and r23:r22 + 128 (B), r20
         bytes, into X. r25:r24 := the address the next write must go to (the other copy), 0
         if neither copy is valid. Newer: (int16)(seq - other seq) > 0. */
      "rec_get:\n"
      "    movw  r12, r22\n"
      "    movw  r14, r26\n"
      "    mov   r7, r20\n"
      "    rcall rec_read\n"
      "    bst   r1, 0\n" /* T := copy A valid (r1 is 0: clear, then set below) */
      "    brcc  1f\n"
      "    set\n"
      "1:  movw  r22, r12\n"
      "    subi  r22, 0x80\n"
      "    sbci  r23, 0xFF\n"
      "    ldi   r26, lo8(%[tmp])\n"
      "    ldi   r27, hi8(%[tmp])\n"
      "    mov   r20, r7\n"
      "    rcall rec_read\n"
      "    movw  r24, r22\n" /* B's address: next write if A is the newest */
      "    brcc  3f\n"
      "    brtc  2f\n"
      "    movw  r30, r14\n"
      "    ld    r20, Z\n"
      "    ldd   r21, Z+1\n"
      "    lds   r24, %[tmp]\n"
      "    lds   r25, %[tmp]+1\n"
      "    sub   r24, r20\n"
      "    sbc   r25, r21\n"
      "    movw  r24, r22\n"
      "    brlt  3f\n"
      "    breq  3f\n"
      "2:  ldi   r26, lo8(%[tmp])\n" /* B is the newest: copy it over A */
      "    movw  r30, r14\n"
      "1:  ld    r0, X+\n"
      "    st    Z+, r0\n"
      "    dec   r7\n"
      "    brne  1b\n"
      "    movw  r24, r12\n"
      "    ret\n"
      "3:  brts  4f\n"
      "    clr   r24\n"
      "    clr   r25\n"
      "4:  ret\n"

      /* br_write: the boot record at Y, seq + 1, summed while it is sent, then its CRC, to the
         copy that is not the newest (r9:r8); then that copy is the newest. */
      "br_write:\n"
      "    ldd   r24, Y+0\n"
      "    ldd   r25, Y+1\n"
      "    adiw  r24, 1\n"
      "    std   Y+0, r24\n"
      "    std   Y+1, r25\n"
      "    movw  r22, r8\n"
      "    clr   r21\n"
      "    rcall ee_begin\n"
      "    brcc  2f\n"
      "    rcall crc_init\n"
      "    movw  r26, r28\n"
      "    ldi   r20, %[o_crc]\n"
      "1:  ld    r25, X+\n"
      "    mov   r24, r25\n"
      "    rcall tw_send\n"
      "    mov   r24, r25\n"
      "    rcall crc8\n"
      "    dec   r20\n"
      "    brne  1b\n"
      "    ldi   r20, 4\n"
      "1:  mov   r24, r2\n"
      "    com   r24\n"
      "    rcall tw_send\n"
      "    mov   r2, r3\n"
      "    mov   r3, r4\n"
      "    mov   r4, r5\n"
      "    dec   r20\n"
      "    brne  1b\n"
      "    rcall tw_stop\n"
      "2:  ldi   r24, 0x80\n" /* A (0x080) <-> B (0x100) */
      "    eor   r8, r24\n"
      "    ldi   r24, 0x01\n"
      "    eor   r9, r24\n"
      "    ret\n" ::[go] "M"(TWGO),
      [go_sta] "M"(TWGO | _BV(TWSTA)), [go_sto] "M"(TWGO | _BV(TWSTO)), [go_ea] "M"(TWGO | _BV(TWEA)),
      [TWDR_] "n"(_SFR_MEM_ADDR(TWDR)), [TWCR_] "n"(_SFR_MEM_ADDR(TWCR)), [TWSR_] "n"(_SFR_MEM_ADDR(TWSR)),
      [twint] "I"(TWINT), [twsto] "I"(TWSTO), [mt_sla_ack] "M"(0x18), [mr_sla_ack] "M"(0x40),
      [o_state] "I"(SB_BOOT_RECORD_OFF_STATE), [tmp] "i"(RAM_TMP), [o_crc] "M"(SB_BOOT_RECORD_OFF_CRC));
}

/* ============================================================ applying a staged image */
/*
 * pass: one pass over the image's pages, T = 0 for pass 1, T = 1 for pass 2. C set = success.
 * Pass 1, before any erase: sums the whole payload from the EEPROM (page-aligned sequential
 *   reads) and notes for each page whether flash already holds it; the CRC-32 must match.
 * Pass 2: programs the pages that differ. A page is read from the EEPROM into SRAM while the
 *   previous page's write runs (RWW: this code runs on), then loaded into the page buffer
 *   before its erase (the datasheet's "alternative 1"), so each page costs erase + write only.
 *   Then the whole flash range is read back and its CRC-32 must match the header.
 * A short last page is padded with 0xFF, as flash reads after an erase.
 * Uses r6 (page), r10:r11 (bytes left), r12:r13.
 */
__attribute__((naked, used)) static void chunk_apply(void)
{
  asm volatile(
      "pass:\n"
      "    rcall rww\n" /* an earlier pass may have left a write running */
      "    ldd   r10, Y+%[len]\n"
      "    ldd   r11, Y+%[len]+1\n"
      "    clr   r6\n"
      "    rcall crc_init\n"
      "1:  ldi   r20, 0x80\n" /* n = min(128, left) */
      "    cp    r10, r20\n"
      "    cpc   r11, r1\n"
      "    brsh  2f\n"
      "    mov   r20, r10\n"
      "2:  sub   r10, r20\n"
      "    sbc   r11, r1\n"
      "    mov   r7, r20\n"
      "    mov   r31, r6\n" /* Z = page address = p << 7 */
      "    clr   r30\n"
      "    lsr   r31\n"
      "    ror   r30\n"
      "    movw  r12, r30\n"
      "    mov   r26, r6\n"
      "    ldi   r27, hi8(%[diff])\n"
      "    brtc  3f\n"
      "    ld    r24, X\n"
      "    tst   r24\n"
      "    breq  7f\n" /* pass 2: flash already holds this page */
      "3:  ldi   r26, lo8(%[buf])\n"
      "    ldi   r27, hi8(%[buf])\n"
      "    ldd   r22, Y+%[daddr]\n" /* EEPROM address = dataAddr + page offset */
      "    ldd   r23, Y+%[daddr]+1\n"
      "    ldd   r21, Y+%[daddr]+2\n"
      "    add   r22, r30\n"
      "    adc   r23, r31\n"
      "    adc   r21, r1\n"
      "    rcall ee_read\n"
      "    brcc  9f\n"
      "    ldi   r26, lo8(%[buf])\n"
      "    mov   r20, r7\n"
      "    brts  5f\n"
      "    clr   r25\n" /* pass 1: does flash differ? */
      "6:  lpm   r0, Z+\n"
      "    ld    r24, X+\n"
      "    eor   r0, r24\n"
      "    or    r25, r0\n"
      "    dec   r20\n"
      "    brne  6b\n"
      "    mov   r26, r6\n"
      "    ldi   r27, hi8(%[diff])\n"
      "    st    X, r25\n"
      "    rjmp  7f\n"
      "5:  rcall spm_wait\n" /* pass 2: the previous page's write has finished */
      "    inc   r20\n" /* a short last page: whole words; the rest of the page stays 0xFF */
      "    andi  r20, 0xFE\n"
      "    rcall fill\n"
      "    movw  r30, r12\n"
      "    ldi   r24, %[erase]\n"
      "    rcall spm_do\n"
      "    ldi   r24, %[write]\n"
      "    rcall spm_go\n" /* runs while the next page is read */
      "7:  inc   r6\n"
      "    cp    r10, r1\n"
      "    cpc   r11, r1\n"
      "    brne  1b\n"
      "    brtc  8f\n"
      "    rcall rww\n" /* read back: CRC-32 of flash over the image length */
      "    rcall crc_init\n"
      "    clr   r30\n"
      "    clr   r31\n"
      "    ldd   r26, Y+%[len]\n"
      "    ldd   r27, Y+%[len]+1\n"
      "6:  lpm   r24, Z+\n"
      "    rcall crc8\n"
      "    sbiw  r26, 1\n"
      "    brne  6b\n"
      "8:  movw  r26, r28\n" /* sum the expected CRC too: the residue means a match */
      "    adiw  r26, %[pcrc]\n"
      "    ldi   r20, 4\n"
      "    rcall crc_ram\n"
      "    rcall residue\n"
      "    clc\n"
      "    brne  9f\n"
      "    sec\n"
      "9:  ret\n"

      /* check: the slot to install, all before any erase. r24 := 0 if it may be installed,
         else the BootResult. Pass 1 is the last check. */
      "check:\n"
      "    ldd   r23, Y+%[slot]\n" /* slot record A at 128 * (3 + 2 * slot) = 0x180 + 0x100 * slot */
      "    inc   r23\n"
      "    ldi   r22, 0x80\n"
      "    movw  r26, r28\n"
      "    adiw  r26, %[sr]\n"
      "    ldi   r20, %[srsize]\n"
      "    rcall rec_get\n"
      "    or    r24, r25\n"
      "    ldi   r24, %[r_bad_header]\n"
      "    breq  9f\n"
      "    ldd   r25, Y+%[sstate]\n"
      "    ldi   r24, %[r_not_staged]\n"
      "    cpi   r25, %[staged]\n"
      "    brne  9f\n"
      "    ldi   r24, %[r_wrong_target]\n"
      "    ldd   r25, Y+%[sig]\n"
      "    cpi   r25, %[sig0]\n"
      "    brne  9f\n"
      "    ldd   r25, Y+%[sig]+1\n"
      "    cpi   r25, %[sig1]\n"
      "    brne  9f\n"
      "    ldd   r25, Y+%[sig]+2\n"
      "    cpi   r25, %[sig2]\n"
      "    brne  9f\n"
      "    ldi   r24, %[r_too_big]\n" /* loadAddr 0 and 1 <= length <= 0x7C00 */
      "    ldd   r20, Y+%[len]\n"
      "    ldd   r21, Y+%[len]+1\n"
      "    ldd   r22, Y+%[len]+2\n"
      "    ldd   r23, Y+%[load]\n"
      "    ldd   r25, Y+%[load]+1\n"
      "    or    r23, r25\n"
      "    ldd   r25, Y+%[load]+2\n"
      "    or    r23, r25\n"
      "    ldd   r25, Y+%[load]+3\n"
      "    or    r23, r25\n"
      "    ldd   r25, Y+%[len]+3\n"
      "    or    r23, r25\n"
      "    subi  r20, 1\n"
      "    sbci  r21, 0\n"
      "    sbci  r22, 0\n"
      "    sbci  r23, 0\n"
      "    cpi   r21, %[blhi]\n"
      "    cpc   r22, r1\n"
      "    cpc   r23, r1\n"
      "    brsh  9f\n"
      "    clt\n"
      "    rcall pass\n"
      "    ldi   r24, %[r_bad_crc]\n"
      "    brcc  9f\n"
      "    clr   r24\n"
      "9:  ret\n" ::[len] "I"(HDR(SB_IMAGE_HEADER_OFF_LENGTH)),
      [pcrc] "I"(HDR(SB_IMAGE_HEADER_OFF_PAYLOAD_CRC)), [daddr] "I"(SR(SB_SLOT_RECORD_OFF_DATA_ADDR)),
      [diff] "i"(RAM_DIFF), [buf] "i"(RAM_BUF), [erase] "M"(_BV(PGERS) | _BV(SPMEN)),
      [write] "M"(_BV(PGWRT) | _BV(SPMEN)), [slot] "I"(SB_BOOT_RECORD_OFF_SLOT), [sr] "I"(SB_BOOT_RECORD_SIZE),
      [srsize] "M"(SB_SLOT_RECORD_SIZE), [r_bad_header] "M"(SB_RESULT_BAD_HEADER), [sstate] "I"(SR(SB_SLOT_RECORD_OFF_STATE)),
      [r_not_staged] "M"(SB_RESULT_NOT_STAGED), [staged] "M"(SB_SLOT_STAGED), [r_wrong_target] "M"(SB_RESULT_WRONG_TARGET),
      [sig] "I"(HDR(SB_IMAGE_HEADER_OFF_SIGNATURE)), [sig0] "M"(SIGNATURE_0), [sig1] "M"(SIGNATURE_1), [sig2] "M"(SIGNATURE_2),
      [r_too_big] "M"(SB_RESULT_TOO_BIG), [load] "I"(HDR(SB_IMAGE_HEADER_OFF_LOAD_ADDR)), [blhi] "M"(BL_START >> 8),
      [r_bad_crc] "M"(SB_RESULT_BAD_CRC));
}

/*
 * boot: the boot record state machine (protocol/STATES.md). r24 := 0 if nothing was installed,
 * else the state written after an image was installed and verified (IDLE or TRIAL).
 */
#define BR_OPS                                                                                     \
  [state] "I"(SB_BOOT_RECORD_OFF_STATE), [flags] "I"(SB_BOOT_RECORD_OFF_FLAGS), [slot] "I"(SB_BOOT_RECORD_OFF_SLOT), \
  [current] "I"(SB_BOOT_RECORD_OFF_CURRENT), [backup] "I"(SB_BOOT_RECORD_OFF_BACKUP),                \
  [result] "I"(SB_BOOT_RECORD_OFF_RESULT), [attempts] "I"(SB_BOOT_RECORD_OFF_ATTEMPTS)
__attribute__((naked, used)) static void chunk_boot(void)
{
  asm volatile(
      "boot:\n"
      "    ldi   r22, 0x80\n" /* boot record copies at 128 and 256 */
      "    clr   r23\n"
      "    movw  r26, r28\n"
      "    ldi   r20, %[brsize]\n"
      "    rcall rec_get\n"
      "    movw  r8, r24\n"
      "    or    r24, r25\n"
      "    brne  1f\n" /* no EEPROM, not formatted, no boot record: nothing to do */
      "0:  clr   r24\n"
      "    ret\n"
      "1:  ldd   r25, Y+%[state]\n"
      "    cpi   r25, %[idle]\n"
      "    breq  0b\n"
      "    ldi   r24, %[r_reverted]\n"
      "    cpi   r25, %[trial]\n" /* a reset before CONFIRM: revert */
      "    breq  5f\n"
      "    rcall check\n" /* PENDING or INSTALLING */
      "    ldd   r25, Y+%[state]\n"
      "    tst   r24\n"
      "    brne  4f\n"
      "    cpi   r25, %[pending]\n"
      "    brne  3f\n"
      "    ldi   r24, %[installing]\n" /* checks passed: INSTALLING before the first erase */
      "    std   Y+%[state], r24\n"
      "    ldi   r24, %[r_installed]\n"
      "    std   Y+%[result], r24\n"
      "    std   Y+%[attempts], r1\n"
      "    rcall br_write\n"
      "3:  set\n"
      "    rcall pass\n"
      "    brcc  6f\n"
      "    ldd   r24, Y+%[slot]\n"
      "    std   Y+%[current], r24\n"
      "    ldi   r24, %[idle]\n"
      "    ldd   r25, Y+%[flags]\n"
      "    sbrc  r25, %[f_trial_bit]\n"
      "    ldi   r24, %[trial]\n"
      "    std   Y+%[state], r24\n"
      "    rcall br_write\n"
      "    ldd   r24, Y+%[state]\n"
      "    ret\n"
      "6:  ldd   r24, Y+%[attempts]\n" /* read-back failed */
      "    inc   r24\n"
      "    std   Y+%[attempts], r24\n"
      "    cpi   r24, %[max_attempts]\n"
      "    brsh  7f\n"
      "    rcall br_write\n"
      "    rjmp  1b\n"
      "7:  ldi   r24, %[r_verify_failed]\n"
      "    rjmp  5f\n"
      "4:  cpi   r25, %[pending]\n"
      "    brne  5f\n"
      "    ldi   r25, %[idle]\n" /* PENDING failed its checks: flash untouched, old app runs */
      "    std   Y+%[state], r25\n"
      "    std   Y+%[result], r24\n"
      "    rjmp  2f\n"
      /* r24 = result. A trial to revert, or an install that cannot complete: the backup */
      "5:  ldd   r25, Y+%[state]\n"
      "    ldd   r20, Y+%[backup]\n"
      "    cpi   r20, %[noslot]\n"
      "    breq  6f\n"
      "    ldd   r0, Y+%[slot]\n"
      "    cp    r20, r0\n"
      "    breq  6f\n"
      "    std   Y+%[result], r24\n" /* INSTALLING of the backup, no trial */
      "    std   Y+%[slot], r20\n"
      "    ldi   r24, %[noslot]\n"
      "    std   Y+%[backup], r24\n"
      "    std   Y+%[flags], r1\n"
      "    std   Y+%[attempts], r1\n"
      "    ldi   r24, %[installing]\n"
      "    std   Y+%[state], r24\n"
      "    rcall br_write\n"
      "    rjmp  1b\n"
      "6:  cpi   r25, %[trial]\n"
      "    breq  8f\n" /* a trial without backup (hand-made record) counts as confirmed */
      "    std   Y+%[result], r24\n" /* no valid application left: erase its reset vector */
      "    ldi   r24, %[idle]\n"
      "    std   Y+%[state], r24\n"
      "    ldi   r24, %[noslot]\n"
      "    std   Y+%[current], r24\n"
      "    clr   r30\n"
      "    clr   r31\n"
      "    ldi   r24, %[erase]\n"
      "    rcall spm_do\n"
      "    rcall rww\n"
      "2:  rcall br_write\n"
      "8:  clr   r24\n"
      "9:  ret\n"
      ::BR_OPS,
      [brsize] "M"(SB_BOOT_RECORD_SIZE), [idle] "M"(SB_BOOT_IDLE), [pending] "M"(SB_BOOT_PENDING),
      [installing] "M"(SB_BOOT_INSTALLING), [trial] "M"(SB_BOOT_TRIAL), [noslot] "M"(SB_NO_SLOT),
      [r_reverted] "M"(SB_RESULT_REVERTED), [r_installed] "M"(SB_RESULT_INSTALLED),
      [r_verify_failed] "M"(SB_RESULT_VERIFY_FAILED), [max_attempts] "M"(SB_INSTALL_MAX_ATTEMPTS),
      [f_trial_bit] "I"(0), [erase] "M"(_BV(PGERS) | _BV(SPMEN)));
}
_Static_assert(SB_BOOTF_TRIAL == 1, "TRIAL flag is bit 0");
_Static_assert(SB_SLOT_RECORD_OFF_STATE == SB_BOOT_RECORD_OFF_STATE, "rec_read checks one state offset");

/* ============================================================ serial uploads (STK500v1) */
/*
 * Optiboot's command set and replies. r11:r10 = byte address from LOAD_ADDRESS.
 * size: Y now points at the USART (0xC0), so its registers are reached by ldd/std Y+q.
 * PROG_PAGE: the bytes go to SRAM; while they arrive, the loop polls the UART and, as soon as
 * the previous page's write is done (SPMEN clear), starts this page's erase. It never waits
 * with a byte unread (the UART holds only two). After the last byte: wait for the erase, load
 * the page buffer, start the write, and reply at once; the write runs while the host sends the
 * next LOAD_ADDRESS and PROG_PAGE. READ_PAGE and LEAVE_PROGMODE wait and re-enable RWW first.
 */
/* STK500v1 bytes (stk500.h); plain numbers, so they are spliced into the asm text. */
#define STK_INSYNC "0x14"
#define STK_OK "0x10"
#define CRC_EOP "0x20"
#define STK_GET_PARAMETER "0x41"
#define STK_SET_DEVICE "0x42"
#define STK_SET_DEVICE_EXT "0x45"
#define STK_LEAVE_PROGMODE "0x51"
#define STK_LOAD_ADDRESS "0x55"
#define STK_UNIVERSAL "0x56"
#define STK_PROG_PAGE "0x64"
#define STK_READ_PAGE "0x74"
#define STK_READ_SIGN "0x75"
#define STK_SW_MAJOR "0x81"
#define STK_SW_MINOR "0x82"
__attribute__((naked, used)) static void chunk_serial(void)
{
  asm volatile(
      /* size: the shared reply tails sit before "serial", within branch reach of the dispatch */
      "vs_ok:\n"
      "    rcall verify_space\n"
      "ok:\n"
      "    ldi   r24, " STK_OK "\n"
      "put_ok:\n"
      "    rcall putch\n"
      "    cpi   r24, " STK_OK "\n" /* size: a reply byte, then STK_OK, by one call site */
      "    brne  ok\n"
      "    rjmp  cmd\n"
      "getn_ok:\n"
      "    rcall get_n\n"
      "    rjmp  ok\n"
      "serial:\n"
      "    ldi   r28, %[usart]\n"
      "    clr   r29\n"
      "    ldi   r24, %[u2x]\n"
      "    std   Y+%[A], r24\n"
      "    ldi   r24, %[rxtx]\n"
      "    std   Y+%[B], r24\n"
      "    ldi   r24, %[ubrr]\n"
      "    std   Y+%[BRR], r24\n"
      "    ldi   r24, %[wd1s]\n" /* no host within a second: reset, then the application runs */
      "    rcall wd\n"
      "cmd:\n"
      "    rcall getch\n"
      "    cpi   r24, " STK_GET_PARAMETER "\n"
      "    brne  1f\n"
      "    rcall getch\n"
      "    mov   r20, r24\n"
      "    rcall verify_space\n"
      "    ldi   r24, 0x03\n"
      "    cpi   r20, " STK_SW_MAJOR "\n"
      "    brne  2f\n"
      "    ldi   r24, %[major]\n"
      "2:  cpi   r20, " STK_SW_MINOR "\n"
      "    brne  put_ok\n"
      "    ldi   r24, %[minor]\n"
      "    rjmp  put_ok\n"
      "1:  ldi   r20, 20\n"
      "    cpi   r24, " STK_SET_DEVICE "\n"
      "    breq  getn_ok\n"
      "    ldi   r20, 5\n"
      "    cpi   r24, " STK_SET_DEVICE_EXT "\n"
      "    breq  getn_ok\n"
      "    cpi   r24, " STK_LOAD_ADDRESS "\n"
      "    brne  1f\n"
      "    rcall getch\n"
      "    mov   r10, r24\n"
      "    rcall getch\n"
      "    mov   r11, r24\n"
      "    lsl   r10\n" /* words to bytes */
      "    rol   r11\n"
      "    rjmp  vs_ok\n"
      "1:  cpi   r24, " STK_UNIVERSAL "\n"
      "    brne  1f\n"
      "    ldi   r20, 4\n"
      "    rcall get_n\n"
      "    clr   r24\n"
      "    rjmp  put_ok\n"
      "1:  cpi   r24, " STK_PROG_PAGE "\n"
      "    brne  1f\n"
      "    rcall get_len\n"
      "    mov   r21, r20\n"
      "    ldi   r26, lo8(%[buf])\n"
      "    ldi   r27, hi8(%[buf])\n"
      "    movw  r30, r10\n"
      "    set\n" /* T: this page's erase is still to start */
      "2:  ldd   r24, Y+%[A]\n"
      "    sbrc  r24, %[rxc]\n"
      "    rjmp  3f\n"
      "    brtc  2b\n"
      "    in    r24, %[spmcsr]\n"
      "    sbrc  r24, %[spmen]\n"
      "    rjmp  2b\n"
      "    ldi   r24, %[erase]\n"
      "    rcall spm_go\n"
      "    clt\n"
      "    rjmp  2b\n"
      "3:  ldd   r24, Y+%[DR]\n"
      "    st    X+, r24\n"
      "    dec   r20\n"
      "    brne  2b\n"
      "    rcall verify_space\n"
      "    ldi   r24, %[erase]\n"
      "    brtc  4f\n"
      "    rcall spm_do\n" /* a short page came in faster than the last write */
      "4:  rcall spm_wait\n"
      "    ldi   r26, lo8(%[buf])\n"
      "    mov   r20, r21\n"
      "    rcall fill\n"
      "    movw  r30, r10\n"
      "    ldi   r24, %[write]\n"
      "    rcall spm_go\n"
      "    rjmp  ok\n"
      "1:  cpi   r24, " STK_READ_PAGE "\n"
      "    brne  1f\n"
      "    rcall get_len\n"
      "    rcall verify_space\n"
      "    rcall rww\n"
      "    movw  r30, r10\n"
      "2:  lpm   r24, Z+\n"
      "    rcall putch\n"
      "    dec   r20\n"
      "    brne  2b\n"
      "    rjmp  ok\n"
      "1:  cpi   r24, " STK_READ_SIGN "\n"
      "    brne  1f\n"
      "    rcall verify_space\n"
      "    ldi   r24, %[sig0]\n"
      "    rcall putch\n"
      "    ldi   r24, %[sig1]\n"
      "    rcall putch\n"
      "    ldi   r24, %[sig2]\n"
      "    rjmp  put_ok\n"
      "1:  cpi   r24, " STK_LEAVE_PROGMODE "\n"
      "    brne  2f\n"
      "    rcall rww\n"
      "    ldi   r24, %[wd16ms]\n" /* reset into the application */
      "    rcall wd\n"
      "2:  rjmp  vs_ok\n"

      /* get_len: length (high byte ignored: pages are 128 bytes) into r20, memory type skipped */
      "get_len:\n"
      "    rcall getch\n"
      "    rcall getch\n"
      "    mov   r20, r24\n"
      "getch:\n"
      "    ldd   r24, Y+%[A]\n"
      "    sbrs  r24, %[rxc]\n"
      "    rjmp  getch\n"
      "    wdr\n"
      "    ldd   r24, Y+%[DR]\n"
      "    ret\n"
      "putch:\n"
      "    ldd   r25, Y+%[A]\n"
      "    sbrs  r25, %[udre]\n"
      "    rjmp  putch\n"
      "    std   Y+%[DR], r24\n"
      "    ret\n"
      "get_n:\n"
      "    rcall getch\n"
      "    dec   r20\n"
      "    brne  get_n\n"
      "verify_space:\n"
      "    rcall getch\n"
      "    cpi   r24, " CRC_EOP "\n"
      "    breq  1f\n"
      "    ldi   r24, %[wd16ms]\n" /* out of sync: reset soon */
      "    rcall wd\n"
      "2:  rjmp  2b\n"
      "1:  ldi   r24, " STK_INSYNC "\n"
      "    rjmp  putch\n" ::[usart] "M"(_SFR_MEM_ADDR(UCSR0A)),
      [A] "I"(0), [B] "I"(_SFR_MEM_ADDR(UCSR0B) - _SFR_MEM_ADDR(UCSR0A)),
      [BRR] "I"(_SFR_MEM_ADDR(UBRR0L) - _SFR_MEM_ADDR(UCSR0A)), [DR] "I"(_SFR_MEM_ADDR(UDR0) - _SFR_MEM_ADDR(UCSR0A)),
      [u2x] "M"(_BV(U2X0)), [rxtx] "M"(_BV(RXEN0) | _BV(TXEN0)), [ubrr] "M"(UBRR_VALUE),
      [rxc] "I"(RXC0), [udre] "I"(UDRE0), [wd1s] "M"(_BV(WDE) | _BV(WDP2) | _BV(WDP1)),
      [wd16ms] "M"(_BV(WDE)), [major] "M"(BL_MAJOR), [minor] "M"(BL_MINOR), [buf] "i"(RAM_BUF),
      [spmcsr] "I"(_SFR_IO_ADDR(SPMCSR)), [spmen] "I"(SPMEN), [erase] "M"(_BV(PGERS) | _BV(SPMEN)),
      [write] "M"(_BV(PGWRT) | _BV(SPMEN)), [sig0] "M"(SIGNATURE_0), [sig1] "M"(SIGNATURE_1), [sig2] "M"(SIGNATURE_2));
}
