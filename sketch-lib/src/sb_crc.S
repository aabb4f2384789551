; CRC-16 (frames), CRC-32 (images, records) and the 64-byte block walker of the library, in
; assembly: C spends about twice the bytes on them (the 32-bit register through memory, and
; one prologue per small function). The C equivalents for the host build are in sb_core.h.
;
; Size tricks:
; - One CRC-32 loop (crcLoop) with the register in r18..r21; the entries only set it up and
;   store it back in sb_crc, and the residue test replaces a 32-bit compare of two CRCs: folding
;   a message followed by its little-endian CRC-32 leaves 0xDEBB20E3.
; - Everything is in one section, so the internal calls are 2-byte rcalls.
; - sb_blocks keeps its state in call-saved registers, so sb_ee and the fold need no reloads.
#include <avr/io.h>

#define BUF (sb_f + 8) /* 64 bytes of the frame buffer, after the request's fields */
#define OP_WAIT 1
#define OP_READ 3

.section .text.sb_crc,"ax",@progbits

; uint16_t sb_crc16(const uint8_t *p, uint8_t n): CRC-16/CCITT-FALSE of n (>= 1) bytes.
.global sb_crc16
sb_crc16:
    movw  r30, r24
    ldi   r24, 0xFF
    ldi   r25, 0xFF
1:  ld    r18, Z+
    eor   r25, r18
    ldi   r19, 8
2:  lsl   r24
    rol   r25
    brcc  3f
    ldi   r18, 0x21             ; poly 0x1021
    eor   r24, r18
    ldi   r18, 0x10
    eor   r25, r18
3:  dec   r19
    brne  2b
    dec   r22
    brne  1b
    ret

; Folds r22 (>= 1) bytes at Z into the CRC-32 register r18..r21 (reflected poly 0xEDB88320).
; Z ends past the bytes; clobbers r22, r23, r25.
crcLoop:
1:  ld    r23, Z+
    eor   r18, r23
    ldi   r25, 8
2:  lsr   r21
    ror   r20
    ror   r19
    ror   r18
    brcc  3f
    ldi   r23, 0x20
    eor   r18, r23
    ldi   r23, 0x83
    eor   r19, r23
    ldi   r23, 0xB8
    eor   r20, r23
    ldi   r23, 0xED
    eor   r21, r23
3:  dec   r25
    brne  2b
    dec   r22
    brne  1b
    ret

; void sb_crc_fold(const uint8_t *p, uint8_t n): folds n (>= 1) bytes into sb_crc.
.global sb_crc_fold
sb_crc_fold:
    movw  r30, r24
foldMem:                        ; Z, r22: sb_crc = fold(sb_crc, bytes)
    ldi   r26, lo8(sb_crc)
    ldi   r27, hi8(sb_crc)
    ld    r18, X+
    ld    r19, X+
    ld    r20, X+
    ld    r21, X+
foldStore:
    rcall crcLoop
crcStore:                       ; sb_crc = r18..r21 (Z is kept)
    ldi   r26, lo8(sb_crc)
    ldi   r27, hi8(sb_crc)
    st    X+, r18
    st    X+, r19
    st    X+, r20
    st    X+, r21
    ret

; uint8_t sb_crc_match(const uint8_t *crc): folds the 4 bytes of a CRC-32 into sb_crc; 1 when
; the register then holds the residue, i.e. the CRC was the one of the bytes folded before.
.global sb_crc_match
sb_crc_match:
    movw  r30, r24
    ldi   r22, 4
    rcall foldMem
residue:                        ; r24 = (r18..r21 == 0xDEBB20E3)
    ldi   r24, 0
    cpi   r18, 0xE3
    sbci  r19, 0x20
    sbci  r20, 0xBB
    sbci  r21, 0xDE
    brne  1f
    ldi   r24, 1
1:  ret

; uint8_t sb_crc_ok(uint8_t *p, uint8_t n, uint8_t put)
;   put = 0: 1 when the 4 bytes after p[0..n) hold their CRC-32 (little-endian);
;   put = 1: stores the CRC-32 there (returns 1).
.global sb_crc_ok
sb_crc_ok:
    movw  r30, r24
    clt
    cpse  r20, r1
    set                         ; T = put
    brts  1f
    subi  r22, -4               ; check: fold the stored CRC too
1:  ldi   r18, 0xFF
    ldi   r19, 0xFF
    movw  r20, r18
    rcall foldStore
    brtc  residue
    com   r18                   ; Z points just past p[0..n)
    st    Z+, r18
    com   r19
    st    Z+, r19
    com   r20
    st    Z+, r20
    com   r21
    st    Z+, r21
    ldi   r24, 1
    ret

; void sb_blocks(sb_u24 a, uint16_t len, uint8_t mode)
;   Walks len bytes in 64-byte blocks staged in BUF, starting with sb_crc = ~0:
;   mode 0: flash from 0 folded into sb_crc; 1: flash from 0 copied into the EEPROM at a;
;   2: the EEPROM at a folded into sb_crc.
; Registers: r14:r15 EEPROM address, r16 its 64 KiB bank, r28:r29 bytes left, r17 mode,
; r12:r13 flash address, r11 this block's length.
.global sb_blocks
sb_blocks:
    push  r11
    push  r12
    push  r13
    push  r14
    push  r15
    push  r16
    push  r17
    push  r28
    push  r29
    movw  r14, r22
    mov   r16, r24
    movw  r28, r20
    mov   r17, r18
    clr   r12
    clr   r13
    ldi   r18, 0xFF
    ldi   r19, 0xFF
    movw  r20, r18
    rcall crcStore
.Lnext:
    sbiw  r28, 0
    breq  .Ldone
    ldi   r20, 64
    cpi   r28, 65
    cpc   r29, r1
    brsh  1f
    mov   r20, r28
1:  mov   r11, r20
    cpi   r17, 2
    brne  2f
    ldi   r18, OP_READ
    rcall eeBlock
    rjmp  4f
2:  movw  r30, r12              ; from flash
    ldi   r26, lo8(BUF)
    ldi   r27, hi8(BUF)
3:  lpm   r0, Z+
    st    X+, r0
    dec   r20
    brne  3b
    movw  r12, r30
    cpi   r17, 1
    brne  4f
    ldi   r18, OP_WAIT
    rcall eeBlock
    rjmp  5f
4:  ldi   r30, lo8(BUF)
    ldi   r31, hi8(BUF)
    mov   r22, r11
    rcall foldMem
5:  add   r14, r11
    adc   r15, r1
    adc   r16, r1
    sub   r28, r11
    sbc   r29, r1
    rjmp  .Lnext
.Ldone:
    pop   r29
    pop   r28
    pop   r17
    pop   r16
    pop   r15
    pop   r14
    pop   r13
    pop   r12
    pop   r11
    ret

; sb_ee(a = r14:r15, BUF, n = r11, op = r18 | bank << 2), as a tail call.
eeBlock:
    mov   r24, r16
    lsl   r24
    lsl   r24
    or    r18, r24
    movw  r24, r14
    ldi   r22, lo8(BUF)
    ldi   r23, hi8(BUF)
    mov   r20, r11
    jmp   sb_ee

