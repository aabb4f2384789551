; The frame layer of the library (protocol/WIRE.md) in assembly: the receiver with its
; resynchronisation and the sealing of replies. The C equivalents for the host build, which
; test/sketch-lib/vectors.test.ts checks against protocol/vectors/, are in sb_core.h.
;
; Frame: 0x7E | len | type | seq | payload[len] | crc16 lo | crc16 hi, in sb_f (MAX_PAYLOAD
; + 6 bytes: 72, or 136 in a STAGEBOOT_MAX_CHUNK=128 build); sb_fn bytes of it are held.
;
; Size tricks: sb_crc16 leaves Z just past the bytes it covered, which is where the frame's
; CRC sits, so the check needs no address arithmetic; the entries (push, next, idle) share the
; scanner's tail, and everything works on the fixed buffer's absolute address.
#include <avr/io.h>
#include "sb_config.h"

#define SOF 0x7E
#define MAX_PAYLOAD SB_MAX_PAYLOAD
#define OVERHEAD 6

.section .text.sb_frame,"ax",@progbits

; uint8_t sb_push(uint8_t b): one received byte; 1 when it completes a frame (consume it, then
; call sb_next). Bytes before a SOF are not kept.
.global sb_push
sb_push:
    lds   r25, sb_fn
    tst   r25
    brne  1f
    cpi   r24, SOF
    breq  1f
    ldi   r24, 0
    ret
1:  ldi   r30, lo8(sb_f)
    ldi   r31, hi8(sb_f)
    add   r30, r25
    adc   r31, r1
    st    Z, r24
    inc   r25
    sts   sb_fn, r25
    ldi   r24, 0
    rjmp  sb_drop

; uint8_t sb_next(void): consumes the frame at the front; 1 if the bytes behind it complete
; another.
.global sb_next
sb_next:
    lds   r24, sb_f + 1
    subi  r24, -OVERHEAD
    rjmp  sb_drop

; uint8_t sb_idle(void): the line went quiet with a partial frame held (a stray SOF with a
; plausible length would otherwise wait for bytes of later frames): drop its SOF and rescan.
.global sb_idle
sb_idle:
    lds   r24, sb_fn
    tst   r24
    breq  .Lret
    ldi   r24, 1

; uint8_t sb_drop(uint8_t skip): drops `skip` held bytes (never more than are held) and
; everything up to the next SOF, then looks for a complete frame with a good CRC at the front.
; A candidate that fails costs only its SOF: a real frame may start inside its bytes.
; Returns 1 when sb_f holds a frame.
.global sb_drop
sb_drop:
    lds   r25, sb_fn            ; n
    cp    r24, r25
    brlo  1f
    mov   r24, r25              ; i = min(skip, n)
1:  ldi   r30, lo8(sb_f)
    ldi   r31, hi8(sb_f)
    add   r30, r24
    adc   r31, r1
2:  cp    r24, r25              ; up to the next SOF
    brsh  3f
    ld    r18, Z
    cpi   r18, SOF
    breq  3f
    adiw  r30, 1
    inc   r24
    rjmp  2b
3:  sub   r25, r24              ; n -= i, and the rest moves to the front
    sts   sb_fn, r25
    ldi   r26, lo8(sb_f)
    ldi   r27, hi8(sb_f)
    mov   r19, r25
4:  subi  r19, 1
    brcs  5f
    ld    r18, Z+
    st    X+, r18
    rjmp  4b
5:  cpi   r25, 2
    brlo  .Lret0
    lds   r22, sb_f + 1         ; len
    cpi   r22, MAX_PAYLOAD + 1
    brsh  .Lskip1
    mov   r23, r22
    subi  r23, -OVERHEAD
    cp    r25, r23
    brlo  .Lret0                ; not complete yet
    ldi   r24, lo8(sb_f + 1)
    ldi   r25, hi8(sb_f + 1)
    subi  r22, -3
    call  sb_crc16              ; Z ends on the frame's CRC
    ld    r18, Z+
    ld    r19, Z
    cp    r24, r18
    cpc   r25, r19
    breq  .Lret1
.Lskip1:
    ldi   r24, 1
    rjmp  sb_drop
.Lret1:
    ldi   r24, 1
    ret
.Lret0:
    ldi   r24, 0
.Lret:
    ret

; uint8_t sb_seal(uint8_t *f, uint8_t type, uint8_t seq, uint8_t len): seals the frame whose
; payload is already at f + 4; returns its total length.
.global sb_seal
sb_seal:
    movw  r30, r24
    ldi   r24, SOF
    st    Z+, r24
    st    Z, r18                ; len
    std   Z+1, r22              ; type
    std   Z+2, r20              ; seq
    movw  r24, r30
    subi  r18, -3               ; len + 3 bytes from f + 1
    push  r18
    mov   r22, r18
    call  sb_crc16
    st    Z+, r24
    st    Z, r25
    pop   r24
    subi  r24, -3               ; len + 6
    ret
