/*
 * stageboot: a 1 KiB bootloader for the ATmega328P (boot section 0x7C00-0x7FFF, BOOTSZ = 512 words).
 *
 *  1. Serial uploads: the STK500v1 subset avrdude -c arduino and the Arduino IDE use, as Optiboot,
 *     but each page's erase starts while its bytes still arrive and its write runs while the host
 *     sends the next page (the bootloader runs from NRWW; application pages below 0x7000 are RWW).
 *  2. Power-safe apply of an image staged in an I2C EEPROM (24LC256/512/1025), following the
 *     boot record state machine of protocol/STATES.md: every check before the first erase, a
 *     copy that a power cut only delays, every programmed page read back, trial boot with revert.
 *  3. Services: do_spm at BL_START + 2 (Optiboot's ABI) and the version word at 0x7FFE.
 *
 * The program is hand-allocated AVR assembly in one GCC asm statement, so that routines can fall
 * through into each other (the same logic in C came out at 2.2 KB with avr-gcc 5.4 -Os). Constants
 * and record offsets come from the generated protocol header through asm operands turned into
 * .equ symbols (the EQU statements below), never retyped. Size tricks are marked "size:".
 * Budget: 1024 bytes with the version word; the Makefile fails the build above it.
 *
 * Registers, for the whole program:
 *   r0 the byte being moved (crc8, tw_send and flash loads take it there); r1 zero;
 *   r16..r19 the running CRC-32 (uninverted; in upper registers so that the residue check is one
 *   subi/sbci chain); r15 the reset cause (MCUSR);
 *   Y = 0x100, the boot record (Y+0) and the slot record (Y+16) during the boot, the USART (0xC0)
 *   in the serial loop, so both are reached with 2-byte ldd/std Y+q;
 *   r4:r3:r2 the EEPROM address (bit 16 in r4); r21 the byte count of a record or page read;
 *   r22 a record page (128-byte EEPROM pages: boot 1 and 2, slot i 3 + 2i and 4 + 2i), r23 where a
 *   record goes (0x100 + r23); r7 the page of rec_get's newest copy, r8 that of the boot record;
 *   r6 the flash page number in pass, r9 bytes that differ from flash (counted by ee_read);
 *   in pass 2, r7 the byte count and r23:r22 the flash address of the page awaiting its read-back;
 *   r11:r10 the flash address of the page being programmed (pass and serial); r13:r12 bytes left
 *   (pass) or the newest copy's seq (rec_get); T: pass 1/2, or "erase still to do" in PROG_PAGE.
 * SRAM (never initialised, no .data/.bss: size): 0x100 boot record, 0x110 slot record, 0x200 and
 * 0x300 two page buffers (pass 2 alternates them: r27 ^= r29, which is 1), 0x400 pass 1's
 * per-page "differs" flags.
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

/* The no-read-while-write section: the top 4 KiB, whatever the boot section size. */
#define NRWW_START 0x7000
#define RAM_BR 0x100
#define RAM_SR (RAM_BR + SB_BOOT_RECORD_SIZE)
#define RAM_BUF 0x200
#define RAM_DIFF 0x400

_Static_assert(RAM_SR + SB_SLOT_RECORD_SIZE <= RAM_BUF, "records overlap the page buffer");
_Static_assert((RAM_BUF & 0xFF) == 0 && (RAM_DIFF & 0xFF) == 0, "buffers are 256-byte aligned");
_Static_assert(RAM_BUF == 0x200 && RAM_DIFF >= RAM_BUF + 0x200, "the two page buffers are 0x200 and 0x200 ^ 0x100 (r29 = 1)");
_Static_assert(SB_FS_REC_PITCH == 0x80 && SB_FS_BOOT_REC_A == 1 && SB_FS_BOOT_REC_B == 2 && SB_FS_SLOT_REC_BASE == 3,
               "record copies are 128-byte pages: boot 1 and 2, slot i 3 + 2i and 4 + 2i");
_Static_assert(SB_BOOT_RECORD_OFF_SEQ == 0 && SB_SLOT_RECORD_OFF_SEQ == 0, "seq first");
_Static_assert(SB_BOOT_RECORD_OFF_CRC == 12 && SB_BOOT_RECORD_SIZE == 16, "boot record layout");
_Static_assert(SB_SLOT_RECORD_OFF_STATE == SB_BOOT_RECORD_OFF_STATE, "rec_read checks one state offset");
_Static_assert(SB_SUPERBLOCK_OFF_MAGIC == 0 && ((SB_FS_MAGIC >> (8 * SB_BOOT_RECORD_OFF_STATE)) & 0xFF) - 1 >= 4,
               "rec_get: page 0 (the superblock) never reads as a valid record");
_Static_assert(SB_BOOT_IDLE == 1 && SB_BOOT_TRIAL == 4 && SB_SLOT_EMPTY == 1 && SB_SLOT_BAD == 4,
               "rec_read: a known state is 1..4 for both record kinds");
_Static_assert(SB_BOOTF_TRIAL == 1, "TRIAL flag is bit 0");
_Static_assert(SB_BOOT_RECORD_SIZE + SB_SLOT_RECORD_OFF_HEADER + SB_IMAGE_HEADER_OFF_PAYLOAD_CRC + 3 < 64,
               "slot record fields must be reachable by ldd Y+q");
_Static_assert(SB_IMAGE_HEADER_OFF_LENGTH == SB_IMAGE_HEADER_OFF_LOAD_ADDR + 4, "load address, then length");
_Static_assert((BL_START & 0xFF) == 0, "the length check compares the high byte only");
_Static_assert(SIGNATURE_0 == 0x1E && SIGNATURE_1 == 0x95 && SIGNATURE_2 == 0x0F, "ATmega328P");

#define SR(off) (SB_BOOT_RECORD_SIZE + (off))
#define HDR(off) SR(SB_SLOT_RECORD_OFF_HEADER + (off))
#define TWGO (_BV(TWINT) | _BV(TWEN))

/* The version word at the end of flash (SB_BL_VERSION_ADDR), as Optiboot keeps its own. */
const unsigned short sb_version __attribute__((used, section(".version"))) = (BL_MAJOR << 8) | BL_MINOR;

/* The numbers the code uses, as assembler symbols (one asm statement takes at most 30 operands). */
#define EQU(name) ".equ " #name ", %[" #name "]\n"
__attribute__((naked, used, section(".vectors"))) static void stageboot(void)
{
  asm volatile(EQU(SPMCSR_IO) EQU(SPMEN_B) EQU(SPM_FILL) EQU(SPM_ERASE) EQU(SPM_WRITE) EQU(SPM_RWW)
                   EQU(MCUSR_IO) EQU(EXTRF_B) EQU(WDTCSR_M) EQU(WD_CE) EQU(WD_16MS) EQU(WD_1S) EQU(WD_8S)
                       EQU(TWBR_M) EQU(TWSR_M) EQU(TWDR_M) EQU(TWCR_M) EQU(TWBR_V) EQU(TW_GO) EQU(TW_STA)
                           EQU(TW_STO) EQU(TW_EA) EQU(TWINT_B) EQU(TWSTO_B) EQU(BL_HI) EQU(SIG0) EQU(SIG1)
                               EQU(SIG2) EQU(BL_MAJ) EQU(BL_MIN)::[SPMCSR_IO] "n"(_SFR_IO_ADDR(SPMCSR)),
               [SPMEN_B] "n"(SPMEN), [SPM_FILL] "n"(_BV(SPMEN)), [SPM_ERASE] "n"(_BV(PGERS) | _BV(SPMEN)),
               [SPM_WRITE] "n"(_BV(PGWRT) | _BV(SPMEN)), [SPM_RWW] "n"(_BV(RWWSRE) | _BV(SPMEN)),
               [MCUSR_IO] "n"(_SFR_IO_ADDR(MCUSR)), [EXTRF_B] "n"(EXTRF), [WDTCSR_M] "n"(_SFR_MEM_ADDR(WDTCSR)),
               [WD_CE] "n"(_BV(WDCE) | _BV(WDE)), [WD_16MS] "n"(_BV(WDE)), [WD_1S] "n"(_BV(WDE) | _BV(WDP2) | _BV(WDP1)),
               [WD_8S] "n"(_BV(WDE) | _BV(WDP3) | _BV(WDP0)), [TWBR_M] "n"(_SFR_MEM_ADDR(TWBR)),
               [TWSR_M] "n"(_SFR_MEM_ADDR(TWSR)), [TWDR_M] "n"(_SFR_MEM_ADDR(TWDR)), [TWCR_M] "n"(_SFR_MEM_ADDR(TWCR)),
               [TWBR_V] "n"(TWBR_400K), [TW_GO] "n"(TWGO), [TW_STA] "n"(TWGO | _BV(TWSTA)),
               [TW_STO] "n"(TWGO | _BV(TWSTO)), [TW_EA] "n"(TWGO | _BV(TWEA)), [TWINT_B] "n"(TWINT), [TWSTO_B] "n"(TWSTO),
               [BL_HI] "n"(BL_START >> 8), [SIG0] "n"(SIGNATURE_0), [SIG1] "n"(SIGNATURE_1), [SIG2] "n"(SIGNATURE_2),
               [BL_MAJ] "n"(BL_MAJOR), [BL_MIN] "n"(BL_MINOR));
  asm volatile(EQU(U_A) EQU(U_B) EQU(U_BRR) EQU(U_DR) EQU(UCSR0A_M) EQU(U2X_V) EQU(RXTX_V) EQU(UBRR_V) EQU(RXC_B)
                   EQU(UDRE_B) EQU(RAM_BUF_HI) EQU(RAM_DIFF_HI) EQU(B_SIZE) EQU(S_SIZE)
                       EQU(B_STATE) EQU(B_FLAGS) EQU(B_SLOT) EQU(B_CURRENT) EQU(B_BACKUP) EQU(B_RESULT)
                           EQU(B_ATTEMPTS) EQU(B_CRC) EQU(S_STATE) EQU(S_DADDR) EQU(H_SIG) EQU(H_LOAD) EQU(H_LEN)
                               EQU(H_PCRC)::[U_A] "n"(0),
               [U_B] "n"(_SFR_MEM_ADDR(UCSR0B) - _SFR_MEM_ADDR(UCSR0A)),
               [U_BRR] "n"(_SFR_MEM_ADDR(UBRR0L) - _SFR_MEM_ADDR(UCSR0A)),
               [U_DR] "n"(_SFR_MEM_ADDR(UDR0) - _SFR_MEM_ADDR(UCSR0A)), [UCSR0A_M] "n"(_SFR_MEM_ADDR(UCSR0A)),
               [U2X_V] "n"(_BV(U2X0)), [RXTX_V] "n"(_BV(RXEN0) | _BV(TXEN0)), [UBRR_V] "n"(UBRR_VALUE), [RXC_B] "n"(RXC0),
               [UDRE_B] "n"(UDRE0), [RAM_BUF_HI] "n"(RAM_BUF >> 8), [RAM_DIFF_HI] "n"(RAM_DIFF >> 8),
               [B_SIZE] "n"(SB_BOOT_RECORD_SIZE),
               [S_SIZE] "n"(SB_SLOT_RECORD_SIZE), [B_STATE] "n"(SB_BOOT_RECORD_OFF_STATE),
               [B_FLAGS] "n"(SB_BOOT_RECORD_OFF_FLAGS), [B_SLOT] "n"(SB_BOOT_RECORD_OFF_SLOT),
               [B_CURRENT] "n"(SB_BOOT_RECORD_OFF_CURRENT), [B_BACKUP] "n"(SB_BOOT_RECORD_OFF_BACKUP),
               [B_RESULT] "n"(SB_BOOT_RECORD_OFF_RESULT), [B_ATTEMPTS] "n"(SB_BOOT_RECORD_OFF_ATTEMPTS),
               [B_CRC] "n"(SB_BOOT_RECORD_OFF_CRC), [S_STATE] "n"(SR(SB_SLOT_RECORD_OFF_STATE)),
               [S_DADDR] "n"(SR(SB_SLOT_RECORD_OFF_DATA_ADDR)), [H_SIG] "n"(HDR(SB_IMAGE_HEADER_OFF_SIGNATURE)),
               [H_LOAD] "n"(HDR(SB_IMAGE_HEADER_OFF_LOAD_ADDR)), [H_LEN] "n"(HDR(SB_IMAGE_HEADER_OFF_LENGTH)),
               [H_PCRC] "n"(HDR(SB_IMAGE_HEADER_OFF_PAYLOAD_CRC)));
  asm volatile(EQU(ST_IDLE) EQU(ST_PENDING) EQU(ST_INSTALLING) EQU(ST_TRIAL) EQU(SL_STAGED) EQU(NOSLOT)
                   EQU(MAX_ATTEMPTS) EQU(R_INSTALLED) EQU(R_REVERTED) EQU(R_BAD_HEADER) EQU(R_WRONG_TARGET)
                       EQU(R_TOO_BIG) EQU(R_BAD_CRC) EQU(R_VERIFY_FAILED) EQU(R_NOT_STAGED) EQU(SLOT_BASE)
                           EQU(EE_SLA) EQU(EE_BLOCK) EQU(NRWW_HI)::[ST_IDLE] "n"(SB_BOOT_IDLE),
               [ST_PENDING] "n"(SB_BOOT_PENDING), [ST_INSTALLING] "n"(SB_BOOT_INSTALLING), [ST_TRIAL] "n"(SB_BOOT_TRIAL),
               [SL_STAGED] "n"(SB_SLOT_STAGED), [NOSLOT] "n"(SB_NO_SLOT), [MAX_ATTEMPTS] "n"(SB_INSTALL_MAX_ATTEMPTS),
               [R_INSTALLED] "n"(SB_RESULT_INSTALLED), [R_REVERTED] "n"(SB_RESULT_REVERTED),
               [R_BAD_HEADER] "n"(SB_RESULT_BAD_HEADER), [R_WRONG_TARGET] "n"(SB_RESULT_WRONG_TARGET),
               [R_TOO_BIG] "n"(SB_RESULT_TOO_BIG), [R_BAD_CRC] "n"(SB_RESULT_BAD_CRC),
               [R_VERIFY_FAILED] "n"(SB_RESULT_VERIFY_FAILED), [R_NOT_STAGED] "n"(SB_RESULT_NOT_STAGED),
               [SLOT_BASE] "n"(SB_FS_SLOT_REC_BASE), [EE_SLA] "n"(0xA0), [EE_BLOCK] "n"(0x08), [NRWW_HI] "n"(NRWW_START >> 8));

  asm volatile(
      /* ==================================================== entry, do_spm, flash helpers */
      "    rjmp  main\n"
      /*
       * BL_START + 2: do_spm(uint16_t address r25:r24, uint8_t command r22, uint16_t data r21:r20),
       * Optiboot's ABI (fill 0x01, erase 0x03, write 0x05). After an erase or a write it waits
       * and re-enables the RWW section, so the call can return into the application. As with
       * Optiboot, the caller keeps interrupts off; the boot lock bits (BLB1 mode 2, see README.md)
       * keep SPM away from the bootloader's own pages.
       * size: the body sits at BL_START + 2 itself and falls into rww.
       */
      ".global do_spm\n"
      "do_spm:\n"
      "    movw  r30, r24\n"
      "    movw  r0, r20\n"
      "    out   SPMCSR_IO, r22\n"
      "    spm\n"
      "    clr   r1\n"
      "    cpi   r22, SPM_ERASE\n" /* a fill (1) neither waits nor touches RWWSRE: that would clear the buffer */
      "    brlo  spm_ret\n"
      /* rww: wait for the running erase/write, then make the RWW section readable again */
      "rww:\n"
      "    ldi   r24, SPM_RWW\n"
      /* spm_do: wait for SPM, then start command r24 on Z (data in r1:r0); does not wait for it */
      "spm_do:\n"
      "    rcall spm_wait\n"
      "spm_go:\n"
      "    out   SPMCSR_IO, r24\n"
      "    spm\n"
      "spm_ret:\n"
      "    ret\n"
      "spm_wait:\n" /* clobbers r25 only */
      "    in    r25, SPMCSR_IO\n"
      "    sbrc  r25, SPMEN_B\n"
      "    rjmp  spm_wait\n"
      "    ret\n"
      /* wd: watchdog := r24 (timed sequence); wd16: a reset in 16 ms */
      "wd16:\n"
      "    ldi   r24, WD_16MS\n"
      "wd:\n"
      "    ldi   r25, WD_CE\n"
      "    sts   WDTCSR_M, r25\n"
      "    sts   WDTCSR_M, r24\n"
      "    ret\n"

      /* ==================================================== serial uploads (STK500v1) */
      /*
       * Optiboot's command set and replies. r11:r10 = byte address from LOAD_ADDRESS; r21 = the
       * command, for the reply tail.
       * PROG_PAGE: the bytes go to SRAM; after each one, as soon as the previous page's write is
       * done (SPMEN clear), this page's erase starts. It never waits with a byte unread. After the
       * last byte, commit loads the page buffer and starts the write, and the reply goes at once:
       * the write runs while the host sends the next LOAD_ADDRESS and PROG_PAGE (NRWW pages
       * excepted, see below). READ_PAGE waits and re-enables RWW first.
       * size: the reply tails sit before cmd, within branch reach of every handler.
       */
      "skip_ok:\n" /* SET_DEVICE, SET_DEVICE_EXT, UNIVERSAL: r20 bytes ignored */
      "    rcall getch\n"
      "    dec   r20\n"
      "    brne  skip_ok\n"
      "vs_ok:\n"
      "    rcall verify_space\n"
      "    clr   r24\n" /* size: UNIVERSAL's answer 0 here, keyed by the command kept in r21 */
      "    cpi   r21, 0x56\n"
      "    breq  put_ok\n"
      "    cpi   r21, 0x51\n" /* LEAVE_PROGMODE: reset into the application in 16 ms */
      "    brne  ok\n" /* (a running page write ends long before) */
      "    rcall wd16\n"
      "ok:\n"
      "    ldi   r24, 0x10\n" /* STK_OK */
      "put_ok:\n"
      "    rcall putch\n"
      "    cpi   r24, 0x10\n" /* size: a reply byte, then STK_OK, by one call site */
      "    brne  ok\n"
      "cmd:\n"
      "    rcall getch\n"
      "    mov   r21, r24\n"
      "    cpi   r24, 0x41\n" /* GET_PARAMETER */
      "    breq  param\n"
      "    ldi   r20, 20\n"
      "    cpi   r24, 0x42\n" /* SET_DEVICE */
      "    breq  skip_ok\n"
      /* SET_DEVICE_EXT: avrdude sends 4 bytes (n_extparms + 1) to a programmer of version <= 1.10 */
      "    ldi   r20, 4\n"
      "    cpi   r24, 0x45\n"
      "    breq  skip_ok\n"
      "    cpi   r24, 0x56\n" /* UNIVERSAL: 4 bytes, answered 0 */
      "    breq  skip_ok\n"
      "    cpi   r24, 0x55\n" /* LOAD_ADDRESS */
      "    breq  load\n"
      "    cpi   r24, 0x64\n" /* PROG_PAGE */
      "    breq  prog\n"
      "    cpi   r24, 0x74\n" /* READ_PAGE */
      "    breq  readp\n"
      "    cpi   r24, 0x75\n" /* READ_SIGN */
      "    brne  vs_ok\n" /* anything else, LEAVE_PROGMODE included: INSYNC, OK */
      "sign:\n"
      "    rcall verify_space\n"
      "    ldi   r24, SIG0\n"
      "    rcall putch\n"
      "    ldi   r24, SIG1\n"
      "    rcall putch\n"
      "    ldi   r24, SIG2\n"
      "    rjmp  put_ok\n"
      "param:\n" /* SW_MAJOR (0x81), SW_MINOR (0x82), anything else 3 */
      "    rcall getch\n"
      "    mov   r20, r24\n"
      "    rcall verify_space\n"
      "    subi  r20, 0x81\n"
      "    ldi   r24, BL_MAJ\n"
      "    breq  put_ok\n"
      "    dec   r20\n"
      "    ldi   r24, BL_MIN\n"
      "    breq  put_ok\n"
      "    ldi   r24, 3\n"
      "    rjmp  put_ok\n"
      "load:\n"
      "    rcall getch\n"
      "    mov   r10, r24\n"
      "    rcall getch\n"
      "    mov   r11, r24\n"
      "    lsl   r10\n" /* words to bytes */
      "    rol   r11\n"
      "    rjmp  vs_ok\n"

      "readp:\n"
      "    rcall get_len\n"
      "    rcall verify_space\n"
      "    rcall rww\n"
      "    movw  r30, r10\n"
      "1:  lpm   r24, Z+\n"
      "    rcall putch\n"
      "    dec   r21\n"
      "    brne  1b\n"
      "    rjmp  ok\n"
      "prog:\n"
      "    rcall get_len\n"
      "    clr   r26\n"
      "    ldi   r27, RAM_BUF_HI\n"
      "    movw  r30, r10\n"
      "    set\n" /* T: this page's erase is still to start */
      "2:  rcall getch\n"
      "    st    X+, r24\n"
      /* after each byte (87 us apart), start the erase once the last page's write is done; not
         for an NRWW page: its erase halts the CPU, and bytes would be lost (commit erases it once
         the frame is in, and its write halts until done, so the reply comes after it) */
      "    brtc  3f\n"
      "    cpi   r31, NRWW_HI\n"
      "    brsh  3f\n"
      "    in    r24, SPMCSR_IO\n"
      "    sbrc  r24, SPMEN_B\n"
      "    rjmp  3f\n"
      "    ldi   r24, SPM_ERASE\n"
      "    rcall spm_go\n"
      "    clt\n"
      "3:  cp    r26, r21\n"
      "    brne  2b\n"
      "    rcall verify_space\n"
      "    rcall commit\n" /* T (erase not started: an NRWW page, or a page faster than the last write): erase there */
      "    rjmp  ok\n"
      /* get_len: length (high byte ignored: pages are 128 bytes) into r21, memory type skipped */
      "get_len:\n"
      "    rcall getch\n"
      "    rcall getch\n"
      "    mov   r21, r24\n"
      "getch:\n"
      "    ldd   r24, Y+U_A\n"
      "    sbrs  r24, RXC_B\n"
      "    rjmp  getch\n"
      "    wdr\n"
      "    ldd   r24, Y+U_DR\n"
      "    ret\n"
      "verify_space:\n"
      "    rcall getch\n"
      "    cpi   r24, 0x20\n" /* CRC_EOP */
      "1:  brne  1b\n" /* out of sync: no more wdr, the watchdog resets within a second */
      "    ldi   r24, 0x14\n" /* STK_INSYNC */
      "putch:\n"
      "    ldd   r25, Y+U_A\n"
      "    sbrs  r25, UDRE_B\n"
      "    rjmp  putch\n"
      "    std   Y+U_DR, r24\n"
      "    ret\n"

      /* external reset: the host may be about to upload; no application: never jump into it */
      "decide:\n"
      "    ldi   r30, 1\n" /* size: the high byte of the reset vector; jmp (0x940C) and rjmp (0xCxxx) never have 0xFF there */
      "    clr   r31\n" /* (sets Z) */
      "    lpm   r24, Z\n"
      "    sbrs  r15, EXTRF_B\n" /* size: an external reset skips the compare and keeps clr's Z: */
      "    cpi   r24, 0xFF\n" /* as if there were no application */
      "    brne  app\n"
      "serial:\n"
      "    ldi   r28, UCSR0A_M\n"
      "    clr   r29\n"
      "    ldi   r24, U2X_V\n"
      "    std   Y+U_A, r24\n"
      "    ldi   r24, RXTX_V\n"
      "    std   Y+U_B, r24\n"
      "    ldi   r24, UBRR_V\n"
      "    std   Y+U_BRR, r24\n"
      "    ldi   r24, WD_1S\n" /* no host within a second: reset, then the application runs */
      "    rcall wd\n"
      "    rjmp  cmd\n"
      "app:\n"
      "    sts   TWCR_M, r1\n" /* give A4/A5 back to the application */
      "    jmp   0\n"

      /* ==================================================== the boot state machine (STATES.md) */
      "main:\n"
      "    clr   r1\n"
      "    in    r15, MCUSR_IO\n" /* the reset cause stays in r15 */
      "    out   MCUSR_IO, r1\n"
      "    clr   r24\n"
      "    rcall wd\n" /* a watchdog reset leaves the watchdog running */
      "    ldi   r24, TWBR_V\n"
      "    sts   TWBR_M, r24\n"
      "    clr   r28\n"
      "    ldi   r29, 1\n"
      "    ldi   r22, 1\n" /* boot record copies: pages 1 and 2 */
      "    ldi   r21, B_SIZE\n"
      "    clr   r23\n"
      "    rcall rec_get\n"
      "    mov   r8, r7\n" /* where the boot record is: br_write writes the other page */
      "    brne  decide\n" /* no EEPROM, not formatted, no valid boot record: nothing to do */
      "again:\n"
      "    ldd   r25, Y+B_STATE\n"
      "    cpi   r25, ST_IDLE\n"
      "    breq  decide\n"
      "    ldi   r24, R_REVERTED\n"
      "    cpi   r25, ST_TRIAL\n" /* a reset before CONFIRM: revert (fail sends TRIAL there) */
      "    breq  fail\n"
      /* PENDING or INSTALLING: every check before any erase (again in INSTALLING) */
      "    ldd   r22, Y+B_SLOT\n" /* slot record copy A: page 3 + 2 * slot */
      "    lsl   r22\n"
      "    subi  r22, -SLOT_BASE\n"
      "    ldi   r21, S_SIZE\n"
      "    ldi   r23, B_SIZE\n"
      "    rcall rec_get\n"
      "    ldi   r24, R_BAD_HEADER\n"
      "    brne  fail\n"
      "    ldd   r25, Y+S_STATE\n"
      "    ldi   r24, R_NOT_STAGED\n"
      "    cpi   r25, SL_STAGED\n"
      "    brne  fail\n"
      "    ldi   r24, R_WRONG_TARGET\n"
      "    ldd   r20, Y+H_SIG\n" /* size: one 24-bit subtraction; Z survives the chain only if all match */
      "    ldd   r21, Y+H_SIG+1\n"
      "    ldd   r25, Y+H_SIG+2\n"
      "    subi  r20, SIG0\n"
      "    sbci  r21, SIG1\n"
      "    sbci  r25, SIG2\n"
      "    brne  fail\n"
      /*
       * loadAddr 0 and 1 <= length <= BL_START. size: one multi-byte compare (cpi, then cpc) of
       * [length3 length2 loadAddr3..0 high byte of (length - 1)] against [0 ... 0 BL_START >> 8];
       * length 0 wraps to 0xFFFF and fails the same compare.
       */
      "    ldd   r24, Y+H_LEN\n"
      "    ldd   r25, Y+H_LEN+1\n"
      "    sbiw  r24, 1\n"
      "    movw  r26, r28\n"
      "    adiw  r26, H_LOAD\n"
      "    cpi   r25, BL_HI\n"
      "    ldi   r20, 4\n"
      "3:  ld    r0, X+\n" /* (dec leaves C alone) */
      "    cpc   r0, r1\n"
      "    dec   r20\n"
      "    brne  3b\n"
      "    ldd   r0, Y+H_LEN+2\n"
      "    cpc   r0, r1\n"
      "    ldd   r0, Y+H_LEN+3\n"
      "    cpc   r0, r1\n"
      "    ldi   r24, R_TOO_BIG\n"
      "    brsh  fail\n"
      "    clt\n" /* pass 1: CRC-32 of the payload in the EEPROM, the last check */
      "    rcall pass\n"
      "    ldi   r24, R_BAD_CRC\n"
      "    brne  fail\n"
      "    ldd   r25, Y+B_STATE\n"
      "    cpi   r25, ST_PENDING\n"
      "    brne  1f\n"
      "    ldi   r24, R_INSTALLED\n"
      "    rcall installing\n" /* INSTALLING before the first erase */
      "1:  set\n" /* pass 2: program the pages that differ, each read back after its write */
      "    rcall pass\n"
      "    breq  done\n"
      "vfail:\n" /* the read-back failed */
      "    ldd   r24, Y+B_ATTEMPTS\n"
      "    inc   r24\n"
      "    std   Y+B_ATTEMPTS, r24\n"
      "    cpi   r24, MAX_ATTEMPTS\n"
      "    ldi   r24, R_VERIFY_FAILED\n"
      "    brsh  revert\n"
      "    rcall br_write\n"
      "    rjmp  again\n"
      "fail:\n" /* r24 = result. PENDING: back to IDLE, flash untouched, the old application runs */
      "    ldd   r25, Y+B_STATE\n"
      "    cpi   r25, ST_PENDING\n"
      "    brne  revert\n"
      "    std   Y+B_RESULT, r24\n"
      "idle:\n"
      "    ldi   r24, ST_IDLE\n"
      "    rcall br_write_st\n"
      "to_decide:\n"
      "    rjmp  decide\n"
      /* r24 = result. A trial to revert, or an install that cannot complete: the backup */
      "revert:\n"
      "    ldd   r20, Y+B_BACKUP\n"
      "    cpi   r20, NOSLOT\n"
      "    breq  6f\n"
      "    std   Y+B_SLOT, r20\n" /* INSTALLING of the backup, no trial, no further backup */
      "    ldi   r25, NOSLOT\n"
      "    std   Y+B_BACKUP, r25\n"
      "    std   Y+B_FLAGS, r1\n"
      "    rcall installing\n"
      "    rjmp  again\n"
      "6:  cpi   r24, R_REVERTED\n" /* only a trial reverts; */
      "    breq  to_decide\n" /* a trial without backup (hand-made record) counts as confirmed */
      "    std   Y+B_RESULT, r24\n" /* no valid application left: erase its reset vector */
      "    std   Y+B_CURRENT, r20\n" /* r20 = NOSLOT */
      "    ldi   r22, SPM_ERASE\n" /* size: through do_spm, which also waits and re-enables RWW; */
      "    clr   r25\n" /* r25:r24 = 0:result, an address in page 0 */
      "    rcall do_spm\n"
      "    rjmp  idle\n"
      "done:\n" /* installed and verified: IDLE or TRIAL, current = slot */
      "    ldd   r24, Y+B_SLOT\n"
      "    std   Y+B_CURRENT, r24\n"
      "    ldd   r25, Y+B_FLAGS\n"
      "    ldi   r24, ST_IDLE\n"
      "    sbrs  r25, 0\n"
      "    rjmp  2f\n"
      "    ldi   r24, WD_8S\n" /* a trial must confirm within 8 s (the write takes a few ms) */
      "    rcall wd\n"
      "    ldi   r24, ST_TRIAL\n"
      "2:  rcall br_write_st\n"
      "    rjmp  app\n" /* just installed: run it */

      /* ==================================================== applying a staged image */
      /*
       * commit: r21 bytes (1..128) of the buffer at r27:00 into the flash page at r11:r10: wait for SPM, load
       * the page buffer (a short page: whole words, the rest of the page stays erased), erase the
       * page first if T, then start the write and return while it runs. Loading the buffer before
       * the erase is the datasheet's "alternative 1": the page then costs erase + write only.
       * Shared by PROG_PAGE and pass 2.
       */
      "commit:\n"
      "    rcall spm_wait\n"
      "    clr   r26\n"
      "    movw  r30, r10\n"
      "    ldi   r24, SPM_FILL\n"
      "1:  ld    r0, X+\n"
      "    ld    r1, X+\n"
      "    rcall spm_go\n"
      "    adiw  r30, 2\n"
      "    cp    r26, r21\n" /* an odd count: its last word too */
      "    brlo  1b\n"
      "    clr   r1\n"
      "    movw  r30, r10\n"
      "    brtc  2f\n"
      "    ldi   r24, SPM_ERASE\n"
      "    rcall spm_do\n"
      "2:  ldi   r24, SPM_WRITE\n"
      "    rjmp  spm_do\n"

      /*
       * pass: one pass over the image's pages, T = 0 for pass 1, T = 1 for pass 2. Z set = pass 1:
       * the CRC-32 matches the header; pass 2: every programmed page reads back equal to its source.
       * Pass 1, before any erase: sums the whole payload from the EEPROM (page by page) while
       *   ee_read counts the bytes that differ from flash; a page's count goes to RAM_DIFF.
       * Pass 2: reads and programs the pages that differ. A page is read from the EEPROM while the
       *   previous page's write runs (RWW: this code runs on; an NRWW page's erase and write halt
       *   the CPU instead), into the other of two SRAM buffers: the previous page's bytes stay in
       *   theirs until its write is done and it is read back (verify), just before this page's
       *   erase; the last one is read back at the end.
       * Why no CRC of flash afterwards: pass 1 proved that the EEPROM source has the header's CRC-32
       *   and that every page it did not mark already equals the source byte for byte; pass 2 then
       *   compares every page it writes with the very bytes it wrote, read back from flash. So
       *   flash equals the CRC-checked source over the whole length, which a CRC of flash would only
       *   establish with 2^-32 odds of a miss, and at about 90 cycles a byte (0.36 s at 8 MHz).
       * size: n = min(128, left) from a signed left -= 128, and the loop runs while left > 0.
       * r7 = bytes of the page awaiting its read-back (0: none), r23:r22 its flash address; its
       * buffer is r27 ^ 1 (r29 = 1: Y = 0x100), the one being read or written is r27.
       */
      "pass:\n"
      "    ldd   r12, Y+H_LEN\n"
      "    ldd   r13, Y+H_LEN+1\n"
      "    clr   r6\n"
      "    clr   r7\n"
      "    ldi   r27, RAM_BUF_HI\n"
      "    rcall crc_init\n"
      "1:  ldi   r21, 0x80\n"
      "    sub   r12, r21\n"
      "    sbc   r13, r1\n"
      "    brpl  2f\n"
      "    add   r21, r12\n" /* the last, short page: 128 + (left - 128) */
      "2:  mov   r11, r6\n" /* flash page address = page << 7 */
      "    clr   r10\n"
      "    lsr   r11\n"
      "    ror   r10\n"
      "    movw  r30, r10\n"
      "    brtc  3f\n"
      "    mov   r30, r6\n"
      "    ldi   r31, RAM_DIFF_HI\n"
      "    ld    r24, Z\n"
      "    tst   r24\n"
      "    breq  7f\n" /* pass 2: flash already holds this page */
      "    ldi   r31, BL_HI\n" /* pass 2: ee_read's compare must not read RWW while a write runs */
      "    eor   r27, r29\n" /* the buffer not holding the page that awaits its read-back */
      "3:  ldd   r2, Y+S_DADDR\n" /* EEPROM address = dataAddr + page address */
      "    ldd   r3, Y+S_DADDR+1\n"
      "    ldd   r4, Y+S_DADDR+2\n"
      "    add   r2, r10\n"
      "    adc   r3, r11\n"
      "    adc   r4, r1\n"
      "    clr   r9\n"
      "    clr   r26\n"
      "    rcall ee_read\n"
      "    brcc  0f\n" /* the EEPROM failed: out, through the residue test (no match) */
      "    mov   r30, r6\n" /* size: pass 2 stores too; that page's entry is not read again */
      "    ldi   r31, RAM_DIFF_HI\n"
      "    st    Z, r9\n"
      "    brtc  7f\n"
      "    rcall verify\n" /* the page written last, once its write is done, before this erase */
      "    brne  9f\n"
      "    eor   r27, r29\n"
      "    rcall commit\n" /* runs while the next page is read */
      "    movw  r22, r10\n"
      "    mov   r7, r21\n"
      "7:  inc   r6\n"
      "    cp    r1, r12\n"
      "    cpc   r1, r13\n"
      "    brlt  1b\n"
      "    brts  verify_end\n"
      "8:  movw  r26, r28\n" /* sum the expected CRC too: the residue means a match */
      "    adiw  r26, H_PCRC\n"
      "    ldi   r20, 4\n"
      "4:  ld    r0, X+\n"
      "    rcall crc8\n"
      "    dec   r20\n"
      "    brne  4b\n"
      "0:  rcall rww\n" /* every way out leaves no write running and RWW readable (SREG kept) */
      /* residue: Z set if a block followed by its stored CRC-32 (little endian) leaves the CRC-32
         residue. size: no need to locate or invert the CRC field; one subi/sbci chain */
      "residue:\n"
      "    subi  r16, 0xE3\n"
      "    sbci  r17, 0x20\n"
      "    sbci  r18, 0xBB\n"
      "    sbci  r19, 0xDE\n"
      "9:  ret\n"
      /* verify: wait for the write, RWW readable again, then the r7 bytes of flash at r23:r22
         against buffer r27 ^ 1 (r27 left toggled; verify_end: buffer r27, for the page written
         last, after the loop). Z set = all equal (or r7 = 0).
         size: a mismatch falls into crc_init, which leaves SREG alone, and returns there. */
      "verify:\n"
      "    eor   r27, r29\n"
      "verify_end:\n"
      "    rcall rww\n"
      "    movw  r30, r22\n"
      "    clr   r26\n"
      "1:  cp    r26, r7\n"
      "    brsh  9f\n"
      "    ld    r0, X+\n"
      "    lpm   r24, Z+\n"
      "    cp    r0, r24\n"
      "    breq  1b\n"
      "crc_init:\n"
      "    ser   r16\n"
      "    ser   r17\n"
      "    movw  r18, r16\n"
      "9:  ret\n"

      /* ==================================================== records */
      /*
       * rec_get: the newest valid of the two copies of a record, at pages r22 (A, odd) and r22 + 1
       * (B), r21 bytes, to 0x100 + r23. Z set if there is one, and r7 = its page.
       * Newest as the runtime library picks: B unless A is valid and (int16)(seqA - seqB) > 0.
       */
      "rec_get:\n"
      "    clr   r7\n"
      "1:  rcall rec_read\n"
      "    brne  3f\n"
      "    tst   r7\n"
      "    breq  2f\n" /* the first valid copy */
      "    cp    r12, r24\n"
      "    cpc   r13, r25\n"
      "    breq  2f\n"
      "    brpl  3f\n"
      "2:  movw  r12, r24\n"
      "    mov   r7, r22\n"
      "3:  inc   r22\n"
      "    sbrs  r22, 0\n"
      "    rjmp  1b\n"
      /* size: no second buffer and no copy; the winner is read once more (and checked again).
         With no winner this reads page 0, the superblock, whose state byte is magic 'F': never
         valid. */
      "    mov   r22, r7\n"
      "    rjmp  rec_read\n"
      /* rec_read: the copy at page r22, r21 bytes, to 0x100 + r23. Z set if valid: the CRC holds
         and the state is known (1..4 for both record kinds); then r25:r24 = its seq. */
      "rec_read:\n"
      "    rcall rec_addr\n"
      "    mov   r26, r23\n"
      "    ldi   r27, 1\n"
      "    rcall crc_init\n"
      "    rcall ee_read\n" /* size: a failed read leaves the CRC at 0xFFFFFFFF: no residue */
      "    rcall residue\n"
      "    brne  9f\n"
      "    sub   r26, r21\n"
      "    ld    r24, X+\n"
      "    ld    r25, X+\n"
      "    ld    r20, X\n"
      "    subi  r20, 1\n"
      "    andi  r20, 0xFC\n"
      "9:  ret\n"
      "rec_addr:\n" /* page r22 -> EEPROM address r4:r3:r2 = r22 << 7 */
      "    mov   r3, r22\n"
      "    clr   r2\n"
      "    lsr   r3\n"
      "    ror   r2\n"
      "    clr   r4\n"
      "    ret\n"

      /* installing: result r24, attempts 0, INSTALLING, written */
      "installing:\n"
      "    std   Y+B_RESULT, r24\n"
      "    std   Y+B_ATTEMPTS, r1\n"
      "    ldi   r24, ST_INSTALLING\n"
      /* br_write_st: state r24, written */
      "br_write_st:\n"
      "    std   Y+B_STATE, r24\n"
      /* br_write: the boot record at Y, seq + 1, to the copy that does not hold the newest
         (pages 1 <-> 2), summed while it is sent, then its CRC; then that copy is the newest. */
      "br_write:\n"
      "    ldd   r24, Y+0\n"
      "    ldd   r25, Y+1\n"
      "    adiw  r24, 1\n"
      "    std   Y+0, r24\n"
      "    std   Y+1, r25\n"
      "    ldi   r24, 3\n"
      "    eor   r8, r24\n"
      "    mov   r22, r8\n"
      "    rcall rec_addr\n"
      "    rcall ee_begin\n"
      "    brcc  9b\n"
      "    rcall crc_init\n"
      "    movw  r26, r28\n"
      "    ldi   r21, B_CRC\n"
      "1:  ld    r0, X+\n"
      "    rcall tw_send\n"
      "    rcall crc8\n"
      "    dec   r21\n"
      "    brne  1b\n"
      "    ldi   r26, 16\n" /* size: the CRC read from r16..r19 through their data addresses 16..19 */
      "    clr   r27\n"
      "    ldi   r21, 4\n"
      "1:  ld    r0, X+\n"
      "    com   r0\n"
      "    rcall tw_send\n"
      "    dec   r21\n"
      "    brne  1b\n"
      "    rjmp  tw_stop\n"

      /* ==================================================== CRC-32 and I2C EEPROM */
      /* crc8: r0 into the running CRC; clobbers r24, r25. Bitwise, no table (size): about 110
         cycles a byte, less than one byte time at 400 kHz (180 cycles at 8 MHz), so ee_read sums
         each byte while the next one is on the bus. The polynomial as immediates: with no CRC of
         flash any more, the speed of registers bought nothing, and their loading cost 8 bytes. */
      "crc8:\n"
      "    eor   r16, r0\n"
      "    ldi   r24, 8\n"
      "1:  lsr   r19\n"
      "    ror   r18\n"
      "    ror   r17\n"
      "    ror   r16\n"
      "    brcc  2f\n"
      "    ldi   r25, 0x20\n" /* the polynomial 0xEDB88320 */
      "    eor   r16, r25\n"
      "    ldi   r25, 0x83\n"
      "    eor   r17, r25\n"
      "    ldi   r25, 0xB8\n"
      "    eor   r18, r25\n"
      "    ldi   r25, 0xED\n"
      "    eor   r19, r25\n"
      "2:  dec   r24\n"
      "    brne  1b\n"
      "    ret\n"

      /*
       * ee_begin: START, SLA+W until the chip ACKs (ACK polling: it NACKs during a write cycle;
       * 256 tries of 20 SCL periods outlast a 5 ms cycle), then the address r3:r2. 24LC1025:
       * address bit 16 (r4 bit 0) is block bit B0 of the device address. C set = ok, else C
       * clear. r25 := SLA+W. Clobbers r0, r20, r24.
       * size: a status is tested with subi/cpi 1, which leaves C = "it is the one expected", so
       * the carry is the result with no further instruction (a bus error, status 0, included).
       */
      "ee_begin:\n"
      "    ldi   r25, EE_SLA\n"
      "    sbrc  r4, 0\n"
      "    ori   r25, EE_BLOCK\n"
      "    clr   r20\n"
      "1:  rcall tw_sla\n"
      "    subi  r24, 0x18\n" /* SLA+W ACKed */
      "    cpi   r24, 1\n"
      "    brcs  2f\n"
      "    dec   r20\n"
      "    brne  1b\n"
      "    ret\n"
      "2:  mov   r0, r3\n"
      "    rcall tw_send\n"
      "    mov   r0, r2\n"
      "    rjmp  tw_send\n" /* returns with C still set */
      /*
       * ee_read: sequential read of r21 (1..128) bytes from r4:r3:r2 into X, summed into the CRC,
       * while r9 counts those that differ from flash at Z (pass 1's compare; pass 2 points Z at
       * NRWW, as a page write runs then; at other times no SPM operation runs). C set = ok, else
       * C clear, and nothing read: the CRC is untouched. Clobbers r0, r20, r24, r25, Z.
       * Byte i is clocked in (NACK for the last) while byte i - 1 is summed.
       * size: one loop; "cpse r20, r21" skips the sum before the first byte.
       */
      "ee_read:\n"
      "    rcall ee_begin\n"
      "    brcc  9f\n"
      "    ori   r25, 1\n"
      "    rcall tw_sla\n"
      "    subi  r24, 0x40\n" /* SLA+R ACKed */
      "    cpi   r24, 1\n"
      "    brcc  9f\n"
      "    mov   r20, r21\n"
      "1:  ldi   r24, TW_EA\n"
      "    cpi   r20, 2\n"
      "    brsh  2f\n"
      "    ldi   r24, TW_GO\n"
      "2:  sts   TWCR_M, r24\n"
      "    cpse  r20, r21\n"
      "    rcall crc8\n"
      "    rcall twwait\n"
      "    lds   r0, TWDR_M\n"
      "    st    X+, r0\n"
      "    lpm   r24, Z+\n"
      "    cpse  r24, r0\n"
      "    inc   r9\n"
      "    dec   r20\n"
      "    brne  1b\n"
      "    rcall crc8\n"
      "    rjmp  tw_stop\n"
      /* TWI, polled. twi: TWCR := r24, wait for TWINT, r24 := TWSR (prescaler bits are 0).
         tw_send sends r0; tw_sla sends START, then r25. None of them touches SREG. */
      "tw_sla:\n"
      "    ldi   r24, TW_STA\n"
      "    rcall twi\n"
      "    mov   r0, r25\n"
      "tw_send:\n"
      "    sts   TWDR_M, r0\n"
      "    ldi   r24, TW_GO\n"
      "twi:\n"
      "    sts   TWCR_M, r24\n"
      "twwait:\n"
      "    lds   r24, TWCR_M\n"
      "    sbrs  r24, TWINT_B\n"
      "    rjmp  twwait\n"
      "    lds   r24, TWSR_M\n"
      "9:  ret\n"
      "tw_stop:\n" /* STOP; waits until it is on the bus; returns C set */
      "    ldi   r24, TW_STO\n"
      "    sts   TWCR_M, r24\n"
      "1:  lds   r24, TWCR_M\n"
      "    sbrc  r24, TWSTO_B\n"
      "    rjmp  1b\n"
      "    sec\n"
      "    ret\n");
}
