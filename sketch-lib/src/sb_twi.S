; The library's polled TWI master for the I2C EEPROM (see StageBoot.cpp), in assembly because
; it is the largest single piece of the library and C spends twice the bytes on it.
;
; uint8_t sb_ee(uint16_t a, uint8_t *p, uint8_t n, uint8_t op)
;   One transaction at EEPROM address a: START, SLA+W, the two address bytes, then either n
;   bytes from p (a page write; the write cycle starts at the STOP) or a repeated START, SLA+R
;   and n (>= 1) bytes read into p. op: bit 0 ACK-polls a running write cycle first (up to 256
;   tries, about 8 ms), bit 1 reads, bit 2 selects the upper 64 KiB of a 24LC1025.
;   Returns 0, 1 when the chip is busy with a write cycle (only without bit 0), or 2 on an
;   error (which also sets sb_err).
; Around it TWBR, the TWSR prescaler and TWCR are saved and put back, the bus runs at 400 kHz
; with the TWI interrupt off, and every wait is bounded: Wire keeps working between calls.
#include <avr/io.h>

#define GO ((1 << TWINT) | (1 << TWEN))
// (F_CPU / 400 kHz - 16) / 2; the assembler cannot read F_CPU's L suffix, the preprocessor can
#if F_CPU == 20000000L
#define TWBR_400K 17
#elif F_CPU == 16000000L
#define TWBR_400K 12
#elif F_CPU == 12000000L
#define TWBR_400K 7
#elif F_CPU == 8000000L
#define TWBR_400K 2
#else
#define TWBR_400K 0 // slower clocks cannot reach 400 kHz: as fast as they go
#endif

.section .text.sb_ee,"ax",@progbits
.global sb_ee
sb_ee:
    movw  r30, r24              ; Z = address
    movw  r26, r22              ; X = buffer
    lds   r19, TWCR             ; r19, r21, r23: the registers Wire set
    lds   r21, TWBR
    lds   r23, TWSR
    sts   TWSR, r1
    ldi   r24, TWBR_400K
    sts   TWBR, r24
    lds   r22, sb_i2c
    mov   r24, r18
    andi  r24, 4
    or    r22, r24
    lsl   r22                   ; r22 = SLA+W
    clr   r0                    ; r0 = ACK-polling tries
1:  ldi   r24, GO | (1 << TWSTA)
    rcall twCmd
    mov   r24, r22
    rcall twOut
    cpi   r24, 0x18             ; SLA+W acknowledged
    breq  2f
    cpi   r24, 0x20             ; not acknowledged: a write cycle runs
    brne  .Lerror
    sbrs  r18, 0
    rjmp  .Lbusy
    rcall twStop
    dec   r0
    brne  1b
    rjmp  .Lerror
2:  mov   r24, r31
    rcall twOut
    cpi   r24, 0x28
    brne  .Lerror
    mov   r24, r30
    rcall twOut
    cpi   r24, 0x28
    brne  .Lerror
    sbrc  r18, 1
    rjmp  .Lread
.Lwrite:
    subi  r20, 1
    brcs  .Lok
    ld    r24, X+
    rcall twOut
    cpi   r24, 0x28
    breq  .Lwrite
    rjmp  .Lerror
.Lread:
    ldi   r24, GO | (1 << TWSTA)
    rcall twCmd
    mov   r24, r22
    ori   r24, 1
    rcall twOut
    cpi   r24, 0x40             ; SLA+R acknowledged
    brne  .Lerror
3:  ldi   r24, GO               ; the last byte gets no ACK
    cpi   r20, 2
    brcs  4f
    ldi   r24, GO | (1 << TWEA)
4:  rcall twCmd
    lds   r24, TWDR
    st    X+, r24
    dec   r20
    brne  3b
.Lok:
    clr   r18
    rjmp  .Ldone
.Lbusy:
    ldi   r18, 1
    rjmp  .Ldone
.Lerror:
    ldi   r18, 2
    sts   sb_err, r18
.Ldone:
    rcall twStop
    sts   TWBR, r21
    andi  r23, 3
    sts   TWSR, r23
    andi  r19, (1 << TWEN) | (1 << TWIE) | (1 << TWEA)
    sts   TWCR, r19
    mov   r24, r18
    ret

twStop:
    ldi   r24, GO | (1 << TWSTO)
    sts   TWCR, r24
    clr   r25
5:  lds   r24, TWCR
    sbrs  r24, TWSTO
    ret
    dec   r25
    brne  5b
    ret

; Sends r24; returns the status in r24.
twOut:
    sts   TWDR, r24
    ldi   r24, GO
; Writes r24 to TWCR and waits for TWINT; returns the status in r24, or (after about 100 us:
; a dead bus) TWCR, which matches no status the callers accept.
twCmd:
    sts   TWCR, r24
    clr   r25
6:  lds   r24, TWCR
    sbrc  r24, TWINT
    rjmp  7f
    dec   r25
    brne  6b
    ret
7:  lds   r24, TWSR
    andi  r24, 0xF8
    ret

.size sb_ee, . - sb_ee
