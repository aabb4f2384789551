; The A/B records of protocol/STATES.md in assembly: read both copies of a record into the
; page buffer, pick the newest valid one, and write the next version into the other copy. The
; C equivalents of the pick (sb_pick_start, sb_pick) for the host build are in sb_core.h.
;
; Record r: 0 = boot record (16 bytes), 1 + i = slot i (56 bytes); copy c sits at
; (1 + 2r + c) x 128 (the record pitch of every supported chip). sb_newest names the copy
; holding the record last read (0 = A, 1 = B, 2 = none), sb_rseq the seq of its next write.
;
; Size tricks: one address/size routine (recIO) tail-calls sb_ee for every record transfer;
; the pick tests a copy in place in sb_pb; the record address is (1 + 2r + c) << 7 built with
; one shift through the carry.
#include <avr/io.h>

#define OP_WAIT 1
#define OP_READ 3
#define BOOT_SIZE 16
#define SLOT_SIZE 56

.section .text.sb_rec,"ax",@progbits

; uint8_t sb_rec_read(uint8_t r, uint8_t c): copy c of record r into sb_pb (sb_ee's result).
.global sb_rec_read
sb_rec_read:
    ldi   r18, OP_READ
; r24 = r, r22 = c, r18 = op: sb_ee((1 + 2r + c) << 7, sb_pb, size of r, op)
recIO:
    ldi   r20, BOOT_SIZE
    tst   r24
    breq  1f
    ldi   r20, SLOT_SIZE
1:  lsl   r24
    inc   r24
    add   r24, r22
    lsr   r24                   ; high byte; bit 0 goes to the carry ...
    mov   r25, r24
    clr   r24
    ror   r24                   ; ... and becomes bit 7 of the low byte
    ldi   r22, lo8(sb_pb)
    ldi   r23, hi8(sb_pb)
    jmp   sb_ee

; r22 = size - 4 of record r24 (the bytes its CRC covers).
crcLen:
    ldi   r22, BOOT_SIZE - 4
    tst   r24
    breq  1f
    ldi   r22, SLOT_SIZE - 4
1:  ret

; uint8_t sb_rec_load(uint8_t r): the newest valid copy of record r into sb_pb (zeros if none);
; returns its state (0: none).
.global sb_rec_load
sb_rec_load:
    push  r16
    push  r17
    mov   r17, r24
    ldi   r24, 2
    sts   sb_newest, r24
    ldi   r24, 1
    sts   sb_rseq, r24
    sts   sb_rseq + 1, r1
    ldi   r16, 1                ; copy B, then copy A
2:  mov   r24, r17
    mov   r22, r16
    rcall sb_rec_read
    ; pick: valid (state 1..4, CRC) and newer than what we have
    lds   r24, sb_pb + 2
    subi  r24, 1
    cpi   r24, 4
    brsh  3f
    mov   r24, r17
    rcall crcLen
    ldi   r24, lo8(sb_pb)
    ldi   r25, hi8(sb_pb)
    ldi   r20, 0
    call  sb_crc_ok
    tst   r24
    breq  3f
    lds   r24, sb_pb
    lds   r25, sb_pb + 1
    lds   r18, sb_newest
    cpi   r18, 2
    breq  4f
    lds   r18, sb_rseq
    lds   r19, sb_rseq + 1
    movw  r20, r24
    sub   r20, r18
    sbc   r21, r19
    brmi  3f                    ; (int16)(seq - rseq) < 0: older
4:  sts   sb_newest, r16
    adiw  r24, 1
    sts   sb_rseq, r24
    sts   sb_rseq + 1, r25
3:  subi  r16, 1
    brcc  2b
    lds   r22, sb_newest
    cpi   r22, 2
    breq  5f
    tst   r22
    breq  6f
    mov   r24, r17              ; copy B won but A was read last
    rcall sb_rec_read
6:  lds   r24, sb_pb + 2
    rjmp  7f
5:  ldi   r30, lo8(sb_pb)       ; none: zeros
    ldi   r31, hi8(sb_pb)
    ldi   r24, SLOT_SIZE
8:  st    Z+, r1
    dec   r24
    brne  8b
7:  pop   r17
    pop   r16
    ret

; void sb_rec_store(uint8_t r): sb_pb as the next version of record r (seq, CRC) into the copy
; that does not hold the newest one (A when there is none); waits out a running write cycle.
.global sb_rec_store
sb_rec_store:
    push  r17
    mov   r17, r24
    lds   r24, sb_rseq
    lds   r25, sb_rseq + 1
    sts   sb_pb, r24
    sts   sb_pb + 1, r25
    mov   r24, r17
    rcall crcLen
    ldi   r24, lo8(sb_pb)
    ldi   r25, hi8(sb_pb)
    ldi   r20, 1
    call  sb_crc_ok
    ldi   r22, 0                ; c = !newest
    lds   r24, sb_newest
    tst   r24
    brne  1f
    ldi   r22, 1
1:  sts   sb_newest, r22
    lds   r24, sb_rseq
    lds   r25, sb_rseq + 1
    adiw  r24, 1
    sts   sb_rseq, r24
    sts   sb_rseq + 1, r25
    mov   r24, r17
    pop   r17
    ldi   r18, OP_WAIT
    rjmp  recIO
