; The node's side of protocol/WIRE.md in assembly: dispatch of a complete frame in sb_f (length
; check, slot check, handler, reply), every request (INFO, BEGIN, DATA, CRC, CONFIRM, READ,
; REBOOT, RECORD, SUPERBLOCK, BACKUP), the ACK sender and the DATA path (the window, the write
; straight from the frame, the ACK after the write cycle, the progress persist), the held-frame
; runner, the background service and begin(). StageBoot.cpp keeps the C++ API and the virtual
; calls into the sketch's Print (sb_write, sb_reboot); frames, CRCs, records and the TWI master
; are in the other sb_*.S files.
;
; Every handler is called as status = handler(p = sb_f + 4, i = p[0] in r22) after the length
; (and, for requests that name a slot, the slot) has been checked; it writes its reply over
; the request from p + 1 on and, when the reply is longer than the status byte, sets rlen.
;
; Size tricks (the library must add at most 3 KiB to a sketch):
; - One table gives each request type its payload length and its handler (3 bytes a type);
;   handlers with a C signature that fits (p in r24:25) are called directly, with no stub.
; - The slot check of requests that name a slot is done once here, not in each handler.
; - Most functions reach the state through Y (2-byte displacement loads and stores instead of
;   4-byte absolute ones); everything is one section, so internal calls are 2-byte rcalls.
; - One copy loop (X to Z, r18 bytes) serves INFO, RECORD, the ACK and the layout; one
;   seal-and-write tail serves every reply; CRC and BACKUP share one block-walk tail.
; - The state keeps INFO's last 18 bytes in INFO's order: INFO is constants plus one copy.
#include <avr/io.h>
#include "sb_config.h"
#include "sb_state.h"
#include "stageboot_protocol.h"

#define S(f) (sb_S + SB_S_##f)
#define P (sb_f + SB_FRAME_HEADER) /* the request's payload; its reply goes over it */
#define OP_READ 3
#define OP_WRITE 0
#define SLOTARG 0x80 /* in REQ: the first payload byte names a slot */
#define ANYLEN 0x40  /* in REQ: the handler checks the length */
// UBRR0L at or above which the UART is slow enough for window 2 with 128-byte chunks (60 us a
// byte with U2X: (F_CPU x 60 us / 80) - 1); the assembler cannot read F_CPU's L suffix.
#if F_CPU == 20000000L
#define SLOW_UBRR 14
#elif F_CPU == 16000000L
#define SLOW_UBRR 11
#elif F_CPU == 12000000L
#define SLOW_UBRR 8
#elif F_CPU == 8000000L
#define SLOW_UBRR 5
#else
#define SLOW_UBRR 0xFF /* unknown clock: always 1, which is always safe */
#endif

.section .text.sb_engine,"ax",@progbits

; Payload length (| SLOTARG) and handler of each request type, from type 1 (INFO) on. DATA
; never gets here (sb_dispatch hands it to sb_on_data first).
REQ:
    .byte 0                                     ; 1 INFO
    .word gs(hInfo)
    .byte SB_BEGIN_REQUEST_SIZE | SLOTARG       ; 2 BEGIN
    .word gs(sb_on_begin)
    .byte 0                                     ; 3 DATA: not reached
    .word 0
    .byte SB_CRC_REQUEST_SIZE | SLOTARG         ; 4 CRC
    .word gs(sb_on_crc)
    .byte 0                                     ; 5 CONFIRM
    .word gs(sb_confirm)
    .byte SB_READ_REQUEST_SIZE                  ; 6 READ
    .word gs(hRead)
    .byte 0                                     ; 7 REBOOT
    .word gs(hReboot)
    .byte ANYLEN                                ; 8 RECORD
    .word gs(sb_on_record)
    .byte SB_SUPERBLOCK_REQUEST_SIZE            ; 9 SUPERBLOCK
    .word gs(sb_on_superblock)
    .byte SB_SLOT_QUERY_SIZE | SLOTARG          ; 10 BACKUP
    .word gs(sb_on_backup)
    .equ NREQ, (. - REQ) / 3
    .balign 2

; uint8_t sb_dispatch(Print *out): answers the request in sb_f; 0 when the frame must stay
; held (a chunk waiting for the page buffer), else 1 (the frame is consumed).
.global sb_dispatch
sb_dispatch:
    lds   r18, sb_f + 2             ; type
    sbrc  r18, 7
    rjmp  .Lone                     ; a reply (an echo on a shared link): not for us
    cpi   r18, SB_MSG_DATA
    brne  1f
    rjmp  sb_on_data
1:  push  r16
    push  r17
    movw  r16, r24                  ; out
    rcall sb_drain                  ; a chunk in the page buffer goes first
    sts   sb_err, r1
    sts   S(REBOOT), r1
    ldi   r24, 1
    sts   S(RLEN), r24
    lds   r18, sb_f + 2
    subi  r18, 1                    ; t = type - 1
    ldi   r24, SB_ST_UNKNOWN_TYPE
    cpi   r18, NREQ
    brsh  .Lreply
    ldi   r30, lo8(REQ)
    ldi   r31, hi8(REQ)
    add   r30, r18                  ; Z = REQ + 3t
    adc   r31, r1
    add   r30, r18
    adc   r31, r1
    add   r30, r18
    adc   r31, r1
    lpm   r19, Z+                   ; length | SLOTARG | ANYLEN
    lpm   r0, Z+
    lpm   r31, Z
    mov   r30, r0                   ; the handler
    lds   r20, sb_f + 1
    mov   r21, r19
    andi  r21, ~SLOTARG & 0xFF
    sbrc  r19, 6
    mov   r21, r20                  ; ANYLEN: any length passes here
    ldi   r24, SB_ST_BAD_FRAME
    cp    r20, r21
    brne  .Lreply
    lds   r22, P                    ; i
    sbrs  r19, 7
    rjmp  2f
    lds   r25, S(SLOTS)
    ldi   r24, SB_ST_NOT_FORMATTED
    tst   r25
    breq  .Lreply
    ldi   r24, SB_ST_BAD_SLOT
    cp    r22, r25
    brsh  .Lreply
2:  ldi   r24, lo8(P)
    ldi   r25, hi8(P)
    icall
.Lreply:                            ; r24 = status
    lds   r25, sb_err
    tst   r25
    breq  3f
    ldi   r24, SB_ST_EEPROM_ERROR   ; whatever the handler said, the reply is just the status
    ldi   r25, 1
    sts   S(RLEN), r25
    sts   S(REBOOT), r1
3:  sts   P, r24
    movw  r26, r16
    ldi   r24, lo8(sb_f)
    ldi   r25, hi8(sb_f)
    lds   r22, sb_f + 2
    ori   r22, SB_REPLY_BIT
    lds   r20, sb_f + 3
    lds   r18, S(RLEN)
    rcall sealWrite
    sts   sb_fn, r1                 ; the reply overwrote what followed the request
    lds   r24, S(REBOOT)
    tst   r24
    breq  4f
    movw  r24, r16
    call  sb_reboot                 ; does not return
4:  pop   r17
    pop   r16
.Lone:
    ldi   r24, 1
    ret

; Seals the reply at f (r24:25: type r22, seq r20, payload length r18) and writes it to out
; (r26:27; sb_seal and sb_crc16 leave X alone).
sealWrite:
    push  r24
    push  r25
    call  sb_seal                   ; r24 = frame length
    mov   r20, r24
    pop   r23
    pop   r22
    movw  r24, r26
    jmp   sb_write

; void sb_send_ack(Print *out, uint8_t *f, uint8_t seq, uint8_t st): an ACK of DATA frame seq
; with status st and the window (cumulative, selective), built at f.
.global sb_send_ack
sb_send_ack:
    movw  r30, r22
    std   Z + 4, r18                ; status
    std   Z + 5, r1                 ; reserved
    adiw  r30, 6
    ldi   r26, lo8(S(CUM))          ; cumulative and selective follow each other in the state
    ldi   r27, hi8(S(CUM))
    ldi   r18, 4
    rcall copy
    movw  r26, r24
    movw  r24, r22
    ldi   r22, SB_MSG_DATA | SB_REPLY_BIT
    ldi   r18, SB_ACK_REPLY_SIZE
    rjmp  sealWrite

; sb_ee (sb_twi.S, another section: a 4-byte call) through one jump, so its six callers here
; use 2-byte rcalls.
ee:
    jmp   sb_ee

; The finished CRC-32 (~sb_crc, as it goes on the wire) to the 4 bytes at Z.
crcOut:
    ldi   r26, lo8(sb_crc)
    ldi   r27, hi8(sb_crc)
    ldi   r18, 4
1:  ld    r0, X+
    com   r0
    st    Z+, r0
    dec   r18
    brne  1b
    ret

; Copies r18 (>= 1) bytes from X to Z.
copy:
    ld    r0, X+
    st    Z+, r0
    dec   r18
    brne  copy
    ret

; INFO: who we are (InfoReply in stageboot_protocol.h): constants, the bootloader's version
; word, then pageSize .. appLen, which the state keeps in InfoReply's order.
hInfo:
    ldi   r26, lo8(P + SB_INFO_REPLY_OFF_PROTOCOL)
    ldi   r27, hi8(P + SB_INFO_REPLY_OFF_PROTOCOL)
    ldi   r24, SB_PROTOCOL_VERSION
    st    X+, r24
    ldi   r24, SIGNATURE_0
    st    X+, r24
    ldi   r24, SIGNATURE_1
    st    X+, r24
    ldi   r24, SIGNATURE_2
    st    X+, r24
#if SB_MAX_CHUNK == 128
    ; Window: with 2, the frame after a chunk arrives while the chunk goes over the TWI
    ; (blocking, about 3.3 ms for 128 B): 38 bytes at 115200, which the core's 64-byte serial
    ; ring holds, but 83 at 250 kbaud, which it does not. So 2 while the UART takes at least
    ; 60 us a byte (up to about 166 kbaud), else 1. A byte takes (UBRR + 1) x 80 cycles with
    ; U2X (Arduino's choice but for 57600 at 16 MHz), twice that without: reading only the low
    ; byte and assuming U2X errs towards 1, which is always safe.
    lds   r24, UBRR0L
    cpi   r24, SLOW_UBRR
    ldi   r24, 1
    brlo  1f
    ldi   r24, 2
1:
#else
    ldi   r24, 2                    ; 64-byte chunks: 1.7 ms of TWI, 43 bytes even at 250 kbaud
#endif
    st    X+, r24
    ldi   r30, lo8(SB_BL_VERSION_ADDR)
    ldi   r31, hi8(SB_BL_VERSION_ADDR)
    lpm   r0, Z+
    st    X+, r0
    lpm   r0, Z
    st    X+, r0
    ldi   r24, SB_MAX_CHUNK
    st    X+, r24
    st    X+, r1
    movw  r30, r26
    ldi   r26, lo8(S(PAGE))
    ldi   r27, hi8(S(PAGE))
    ldi   r18, SB_INFO_REPLY_SIZE - SB_INFO_REPLY_OFF_PAGE_SIZE
    rcall copy
    ldi   r24, SB_INFO_REPLY_SIZE
    sts   S(RLEN), r24
    rjmp  .Lok

; READ: n (1..MAX_CHUNK) bytes of the EEPROM at a (below 2^24). A read past the chip, or across
; a 24LC1025's 64 KiB block, wraps: harmless, and the host stays inside both.
hRead:
    movw  r30, r24
    ld    r24, Z                    ; a: r24, r25, bank r19
    ldd   r25, Z + 1
    ldd   r19, Z + 2
    ldd   r18, Z + 3
    ldd   r20, Z + SB_READ_REQUEST_OFF_LENGTH
    tst   r18
    brne  .Lrange
    mov   r18, r20
    subi  r18, 1
    cpi   r18, SB_MAX_CHUNK
    brsh  .Lrange
    inc   r18
    inc   r18
    sts   S(RLEN), r18
    lsl   r19
    lsl   r19
    ldi   r18, OP_READ
    or    r18, r19
    ldi   r22, lo8(P + 1)
    ldi   r23, hi8(P + 1)
    rcall ee
    rjmp  .Lok
.Lrange:
    ldi   r24, SB_ST_BAD_RANGE
    ret

; REBOOT: reset through the watchdog once the reply is out; a transfer's progress is saved
; first, so the resume after the reset loses nothing.
hReboot:
    lds   r24, S(X_SLOT)
    cpi   r24, SB_NO_SLOT
    breq  1f
    rcall sb_persist
1:  ldi   r24, 1
    sts   S(REBOOT), r24
.Lok:
    ldi   r24, SB_ST_OK
    ret

; void sb_run(Print *out): answers every complete frame held in sb_f, replies to out; a frame
; that must wait is kept (held) for sb_service.
.global sb_run
sb_run:
    push  r16
    push  r17
    movw  r16, r24
1:  movw  r24, r16
    rcall sb_dispatch
    tst   r24
    brne  2f
    ldi   r24, 1
    sts   S(HELD), r24
    sts   S(HELD_OUT), r16
    sts   S(HELD_OUT) + 1, r17
    rjmp  3f
2:  lds   r24, sb_fn
    tst   r24
    breq  4f
    call  sb_next
    tst   r24
    brne  1b
4:  sts   S(HELD), r1
3:  pop   r17
    pop   r16
    ret

; void sb_service(void): background work: the page buffer to the EEPROM, then a held frame.
.global sb_service
sb_service:
    ldi   r24, OP_WRITE
    rcall sb_pump
    lds   r24, S(HELD)
    tst   r24
    breq  1f
    lds   r24, S(HELD_OUT)
    lds   r25, S(HELD_OUT) + 1
    rjmp  sb_run
1:  ret

; ---- The DATA path. Y = sb_S in all of it (displacement loads: 2 bytes instead of 4).

#define PB_FREE 0
#define PB_PERSIST 1 /* a progress rewrite is due before the ACK */
#define PB_ACK 2     /* the ACK is due (128-byte chunks: once the chunk's write cycle is over) */
#define PB_CHUNK 3   /* 64-byte chunks: a chunk in the page buffer waits for the chip */
#define OP_WAIT 1
#define IO_BUSY 1
// Rewrite the receiving slot's progress after this many newly written payload bytes: 32 full
// chunks (2 KiB with 64-byte chunks, 4 KiB with 128). Each rewrite costs a write cycle; a reset
// resends at most this much.
#define PERSIST_BYTES (32 * SB_MAX_CHUNK)
#define Y_(f) Y + SB_S_##f

; uint8_t sb_on_data(Print *out): DATA in sb_f. Returns 0 when the chunk must wait (the last
; ACK has not gone, or the chip is still busy): the frame stays held. With 64-byte chunks a new
; chunk is copied into the page buffer and acknowledged as soon as the chip has taken it, so
; the next one travels during the write cycle and waits in the frame buffer; with 128-byte
; chunks (no room for a second one) it goes to the chip straight from the frame and its ACK
; waits for the write cycle, so the next one finds the chip ready (sb_pump sends the ACKs).
; Registers: r16:17 out, r22:23 chunk index n, r20 data length, X offset, r21 shift.
.global sb_on_data
sb_on_data:
    push  r16
    push  r17
    push  r28
    push  r29
    movw  r16, r24
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    lds   r20, sb_f + 1
    subi  r20, 2                    ; data bytes (a frame too short wraps: never a chunk size)
    lds   r22, P
    lds   r23, P + 1
    ldi   r24, SB_ST_NOT_RECEIVING
    ldd   r18, Y_(X_SLOT)
    cpi   r18, SB_NO_SLOT
    breq  .Ldack
    ldi   r24, SB_ST_BAD_RANGE
    ldd   r18, Y_(X_COUNT)
    ldd   r19, Y_(X_COUNT) + 1
    cp    r22, r18
    cpc   r23, r19
    brsh  .Ldack
    ldd   r21, Y_(X_SHIFT)
    movw  r26, r22                  ; off = n << shift; chunk = 1 << shift
    ldi   r25, 1
    mov   r0, r21
    rjmp  2f
1:  lsl   r26
    rol   r27
    lsl   r25
2:  dec   r0
    brpl  1b
    ldd   r18, Y_(X_LEN)            ; want = min(len - off, chunk)
    ldd   r19, Y_(X_LEN) + 1
    sub   r18, r26
    sbc   r19, r27
    tst   r19
    brne  3f                        ; more than 255 bytes left
    cp    r25, r18
    brsh  4f
3:  mov   r18, r25
4:  ldi   r24, SB_ST_BAD_FRAME
    cp    r20, r18
    brne  .Ldack
    rcall ackClass
    cpi   r24, 2
    breq  .Ldone1                   ; beyond the window: dropped, the host resends it
    tst   r24
    ldi   r24, SB_ST_OK
    breq  .Lnew                     ; a duplicate is acknowledged again, never rewritten
.Ldack:                             ; r24 = status: the ACK goes now, over the request
    mov   r18, r24
    movw  r24, r16
    ldi   r22, lo8(sb_f)
    ldi   r23, hi8(sb_f)
    lds   r20, sb_f + 3
    rcall sb_send_ack
    sts   sb_fn, r1                 ; the reply overwrote what followed the request
.Ldone1:
    ldi   r24, 1
.Lpop4:
    pop   r29
    pop   r28
    pop   r17
    pop   r16
    ret
.Ldone0:
    ldi   r24, 0
    rjmp  .Lpop4
.Lnew:
    ldd   r24, Y_(PB_MODE)
    tst   r24
    brne  .Ldone0                   ; the last chunk's ACK has not gone yet
    ldd   r24, Y_(X_ADDR)           ; EEPROM address xAddr + off: r24, r25, bank r18
    ldd   r25, Y_(X_ADDR) + 1
    ldd   r18, Y_(X_ADDR) + 2
    add   r24, r26
    adc   r25, r27
    adc   r18, r1
#if SB_MAX_CHUNK == 64
    ; Into the page buffer, which frees the frame buffer for the next chunk; sb_pump writes it
    ; as soon as the chip takes it and acknowledges it at once.
    std   Y_(PB_ADDR), r24
    std   Y_(PB_ADDR) + 1, r25
    std   Y_(PB_ADDR) + 2, r18
    std   Y_(PB_CHUNK), r22
    std   Y_(PB_CHUNK) + 1, r23
    std   Y_(PB_LEN), r20
    mov   r18, r20
    ldi   r26, lo8(P + 2)
    ldi   r27, hi8(P + 2)
    ldi   r30, lo8(sb_pb)
    ldi   r31, hi8(sb_pb)
    rcall copy
    ldi   r24, PB_CHUNK
    std   Y_(PB_MODE), r24
#else
    ; Straight from the frame buffer (no room for a second 128-byte chunk): blocks for the TWI
    ; transfer; the ACK waits for the write cycle, so the next chunk finds the chip ready.
    lsl   r18
    lsl   r18
    push  r22
    push  r23
    ldi   r22, lo8(P + 2)
    ldi   r23, hi8(P + 2)
    rcall ee
    pop   r23
    pop   r22
    cpi   r24, IO_BUSY
    breq  .Ldone0
    clr   r25                       ; pbLen: 1 written, 0 given up (the host resends)
    tst   r24
    brne  6f
    rcall ackMark
    ldi   r25, 1
6:  std   Y_(PB_LEN), r25
    rcall decide
#endif
    lds   r20, sb_f + 3
    std   Y_(PB_SEQ), r20
    std   Y_(PB_OUT), r16
    std   Y_(PB_OUT) + 1, r17
    ldi   r24, OP_WRITE
    rcall sb_pump
    rjmp  .Ldone1

; pbMode = PB_PERSIST when PERSIST_BYTES more have been written in order since the last
; progress rewrite, else PB_ACK. Y = sb_S.
decide:
    rcall progress
    ldd   r18, Y_(X_SAVED)
    ldd   r19, Y_(X_SAVED) + 1
    subi  r18, lo8(-PERSIST_BYTES)
    sbci  r19, hi8(-PERSIST_BYTES)
    ldi   r20, PB_ACK
    cp    r24, r18
    cpc   r25, r19
    brlo  7f
    ldi   r20, PB_PERSIST
7:  std   Y_(PB_MODE), r20
    ret

; r24 = what chunk r22:23 is to the window (WIRE.md): 0 new, 1 written already (a duplicate),
; 2 beyond the selective bitmap. Keeps r20..r23, X.
ackClass:
    ldd   r18, Y_(CUM)
    ldd   r19, Y_(CUM) + 1
    movw  r24, r22
    sub   r24, r18                  ; i = n - cum
    sbc   r25, r19
    brcs  .Lcdup                    ; below cum
    sbiw  r24, 1
    brcs  .Lcnew                    ; n == cum
    cpi   r24, SB_ACK_WINDOW
    cpc   r25, r1
    brsh  .Lcbeyond
    ldd   r18, Y_(SEL)
    ldd   r19, Y_(SEL) + 1
    rjmp  2f
1:  lsr   r19
    ror   r18
2:  dec   r24
    brpl  1b
    mov   r24, r18
    andi  r24, 1
    ret
.Lcnew:
    ldi   r24, 0
    ret
.Lcdup:
    ldi   r24, 1
    ret
.Lcbeyond:
    ldi   r24, 2
    ret

; Marks chunk r22:23 (new, inside the window) written: at cum, cum slides over the chunks
; after it that the bitmap holds; else its bit is set.
ackMark:
    ldd   r18, Y_(SEL)
    ldd   r19, Y_(SEL) + 1
    ldd   r24, Y_(CUM)
    ldd   r25, Y_(CUM) + 1
    cp    r22, r24
    cpc   r23, r25
    brne  3f
1:  adiw  r24, 1
    lsr   r19
    ror   r18                       ; the next chunk's bit goes to the carry
    brcs  1b
    std   Y_(CUM), r24
    std   Y_(CUM) + 1, r25
    rjmp  4f
3:  mov   r0, r22                   ; bit n - cum - 1
    sub   r0, r24
    dec   r0
    ldi   r24, 1
    ldi   r25, 0
    rjmp  6f
5:  lsl   r24
    rol   r25
6:  dec   r0
    brpl  5b
    or    r18, r24
    or    r19, r25
4:  std   Y_(SEL), r18
    std   Y_(SEL) + 1, r19
    ret

; r24:25 = payload bytes written in order: min(cum << shift, len).
progress:
    ldd   r24, Y_(CUM)
    ldd   r25, Y_(CUM) + 1
    ldd   r0, Y_(X_SHIFT)
    rjmp  2f
1:  lsl   r24
    rol   r25
2:  dec   r0
    brpl  1b
    ldd   r18, Y_(X_LEN)
    ldd   r19, Y_(X_LEN) + 1
    cp    r18, r24
    cpc   r19, r25
    brsh  3f
    movw  r24, r18
3:  ret

; void sb_pump(uint8_t op): moves the last chunk on: 64-byte chunks, from the page buffer into
; the chip; then the ACK, once the chunk is in the chip (128-byte chunks: once its write cycle is
; over) and after a progress rewrite it was due. op: OP_WRITE (one attempt: returns while the
; chip is busy) or OP_WAIT.
.global sb_pump
sb_pump:
    push  r17
    push  r28
    push  r29
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    mov   r17, r24
    ldd   r24, Y_(PB_MODE)
    tst   r24
    breq  .Lpump9
#if SB_MAX_CHUNK == 64
    cpi   r24, PB_CHUNK
    brne  3f
    ldd   r24, Y_(PB_ADDR)          ; the chunk in the page buffer, once the chip takes it
    ldd   r25, Y_(PB_ADDR) + 1
    ldd   r18, Y_(PB_ADDR) + 2
    lsl   r18
    lsl   r18
    or    r18, r17
    ldi   r22, lo8(sb_pb)
    ldi   r23, hi8(sb_pb)
    ldd   r20, Y_(PB_LEN)
    rcall ee
    cpi   r24, IO_BUSY
    breq  .Lpump9
    tst   r24
    breq  4f
    std   Y_(PB_LEN), r1            ; given up: the host resends the chunk
    rjmp  5f
4:  ldd   r22, Y_(PB_CHUNK)
    ldd   r23, Y_(PB_CHUNK) + 1
    rcall ackMark
5:  rcall decide
    ldd   r24, Y_(PB_MODE)
3:  cpi   r24, PB_PERSIST           ; the ACK goes once the chunk is in the chip, after the
    brne  1f                        ; progress rewrite it was due
    rcall eePoll
    breq  .Lpump9
    rcall persistY
#else
    rcall eePoll                    ; the chunk's write cycle is over
    breq  .Lpump9
    ldd   r24, Y_(PB_MODE)
    cpi   r24, PB_PERSIST
    brne  1f
    rcall persistY
    ldi   r24, PB_ACK
    std   Y_(PB_MODE), r24
    rcall eePoll                    ; and the record's
    breq  .Lpump9
#endif
1:  std   Y_(PB_MODE), r1
    ldd   r24, Y_(PB_OUT)
    ldd   r25, Y_(PB_OUT) + 1
    ldi   r22, lo8(sb_pb)
    ldi   r23, hi8(sb_pb)
    ldd   r20, Y_(PB_SEQ)
    ldi   r18, SB_ST_OK
    ldd   r19, Y_(PB_LEN)
    tst   r19
    brne  2f
    ldi   r18, SB_ST_EEPROM_ERROR
2:  pop   r29
    pop   r28
    pop   r17
    rjmp  sb_send_ack
.Lpump9:
    pop   r29
    pop   r28
    pop   r17
    ret

; Z flag set while the EEPROM is busy with a write cycle (op r17: one try, or wait it out).
eePoll:
    ldi   r24, 0
    ldi   r25, 0
    movw  r22, r24
    ldi   r20, 0
    mov   r18, r17
    rcall ee
    cpi   r24, IO_BUSY
    ret

; void sb_drain(void): waits until the last chunk's ACK has gone.
.global sb_drain
sb_drain:
    lds   r24, S(PB_MODE)
    tst   r24
    breq  1f
    ldi   r24, OP_WAIT
    rcall sb_pump
    rjmp  sb_drain
1:  ret

; void sb_persist(void): rewrites the receiving slot's record with the current progress. The
; chip finishes the last chunk's write cycle before it takes the record (the store waits), so
; progress never claims unwritten bytes. No valid record to update: the transfer stops.
.global sb_persist
sb_persist:
    push  r28
    push  r29
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    rcall persistY
    pop   r29
    pop   r28
    ret
persistY:
    push  r17
    ldd   r17, Y_(X_SLOT)
    inc   r17
    mov   r24, r17
    call  sb_rec_load
    tst   r24
    brne  1f
    ldi   r24, SB_NO_SLOT
    std   Y_(X_SLOT), r24
    rjmp  2f
1:  rcall progress
    sts   sb_pb + SB_SLOT_RECORD_OFF_PROGRESS, r24
    sts   sb_pb + SB_SLOT_RECORD_OFF_PROGRESS + 1, r25
    std   Y_(X_SAVED), r24
    std   Y_(X_SAVED) + 1, r25
    mov   r24, r17
    call  sb_rec_store
2:  pop   r17
    ret

; ---- The other requests. Each gets p = sb_f + 4 in r24:25 (and r22 = p[0]), writes its reply
; over the request and returns a Status in r24.

#define EE_COPY 1 /* sb_blocks modes (sb_crc.S) */
#define EE_CRC 2
#define FLASH_CRC 0

; r22:r24 = the data area of slot r24: dataStart + i x slotSize (a loop: no multiply). Y = sb_S.
dataAddr:
    mov   r0, r24
    ldd   r22, Y_(DATA_START)
    ldd   r23, Y_(DATA_START) + 1
    clr   r24
    rjmp  2f
1:  ldd   r18, Y_(SLOT_SIZE)
    add   r22, r18
    ldd   r18, Y_(SLOT_SIZE) + 1
    adc   r23, r18
    ldd   r18, Y_(SLOT_SIZE) + 2
    adc   r24, r18
2:  dec   r0
    brpl  1b
    ret

; r22:23 = the u32 length at Z + 4 (BEGIN and CRC keep it there); carry set unless it is
; 1 .. slotSize. sizeOk: the same test of r22:23 alone.
lenOk:
    ldd   r22, Z + 4
    ldd   r23, Z + 5
    ldd   r0, Z + 6
    ldd   r18, Z + 7
    or    r0, r18
    brne  1f
    cp    r22, r1
    cpc   r23, r1
    breq  1f
sizeOk:
    ldd   r0, Y_(SLOT_SIZE)         ; carry when slotSize < length
    cp    r0, r22
    ldd   r0, Y_(SLOT_SIZE) + 1
    cpc   r0, r23
    ldd   r0, Y_(SLOT_SIZE) + 2
    cpc   r0, r1
    ret
1:  sec
    ret

; Ends a transfer into slot r24 (the host writes that slot's record from now on).
endXfer:
    lds   r18, S(X_SLOT)
    cpse  r18, r24
    ret
    ldi   r18, SB_NO_SLOT
    sts   S(X_SLOT), r18
    ret

; Entry of the requests that use Y = sb_S: Z = p; the handler returns through popY.
.macro ENTER_Y
    push  r28
    push  r29
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    movw  r30, r24
.endm

; BEGIN: a transfer into slot p[0]: chunk size a power of two from 16 to MAX_CHUNK and no more
; than the page (offsets are shifts; chunks never straddle pages), 1 .. slotSize bytes, chunks
; below startChunk count as written. Writes nothing (the host has written the slot record).
.global sb_on_begin
sb_on_begin:
    ENTER_Y
    ldi   r24, SB_ST_BAD_FRAME
    ldd   r20, Z + SB_BEGIN_REQUEST_OFF_CHUNK_SIZE
    ldd   r0, Z + SB_BEGIN_REQUEST_OFF_CHUNK_SIZE + 1
    tst   r0
    brne  popY
    ldd   r0, Y_(PAGE)
    cp    r0, r20
    brlo  popY
    ldi   r19, 4                    ; k: chunk = 1 << k
    ldi   r18, 16
1:  cp    r18, r20
    breq  2f
    lsl   r18
    inc   r19
    cpi   r19, SB_CHUNK_SHIFT + 1
    brlo  1b
    rjmp  popY
2:  ldi   r24, SB_ST_TOO_BIG
    rcall lenOk                     ; r22:23 = length
    brcs  popY
    movw  r26, r22                  ; count = (length + chunk - 1) >> k
    add   r26, r20
    adc   r27, r1
    sbiw  r26, 1
    mov   r0, r19
3:  lsr   r27
    ror   r26
    dec   r0
    brne  3b
    ldd   r18, Z + SB_BEGIN_REQUEST_OFF_START_CHUNK
    ldd   r21, Z + SB_BEGIN_REQUEST_OFF_START_CHUNK + 1
    ldi   r24, SB_ST_BAD_RANGE
    cp    r26, r18
    cpc   r27, r21
    brlo  popY
    std   Y_(X_SHIFT), r19
    std   Y_(X_LEN), r22
    std   Y_(X_LEN) + 1, r23
    std   Y_(X_COUNT), r26
    std   Y_(X_COUNT) + 1, r27
    std   Y_(CUM), r18
    std   Y_(CUM) + 1, r21
    std   Y_(SEL), r1
    std   Y_(SEL) + 1, r1
    mov   r0, r19                   ; progress already persisted: startChunk << k
4:  lsl   r18
    rol   r21
    dec   r0
    brne  4b
    std   Y_(X_SAVED), r18
    std   Y_(X_SAVED) + 1, r21
    ld    r24, Z
    std   Y_(X_SLOT), r24
    rcall dataAddr
    std   Y_(X_ADDR), r22
    std   Y_(X_ADDR) + 1, r23
    std   Y_(X_ADDR) + 2, r24
okY:
    ldi   r24, SB_ST_OK
popY:
    pop   r29
    pop   r28
    ret

; CRC: of the first length bytes of slot p[0]'s data area, read from the EEPROM (sb_blocks
; stages them at sb_f + 8, over the request's length: read first). Ends a transfer into it.
.global sb_on_crc
sb_on_crc:
    ENTER_Y
    rcall lenOk
    ldi   r24, SB_ST_BAD_RANGE
    brcs  popY
    ld    r24, Z
    ldi   r18, EE_CRC
blocksY:                            ; r24 = slot, r22:23 = length, r18 = mode
    push  r18
    rcall endXfer
    movw  r20, r22
    rcall dataAddr
    pop   r18
    call  sb_blocks
    lds   r24, sb_f + 2
    cpi   r24, SB_MSG_CRC
    brne  okY                       ; BACKUP: nothing more to say
    ldi   r30, lo8(P + 1)           ; reserved 0, then the CRC
    ldi   r31, hi8(P + 1)
    st    Z+, r1
    st    Z+, r1
    st    Z+, r1
    rcall crcOut
    ldi   r24, SB_CRC_REPLY_SIZE
    std   Y_(RLEN), r24
    rjmp  okY

; BACKUP: this image's appLen bytes of flash into slot p[0]'s data area (the host checks them
; with CRC and writes the record).
.global sb_on_backup
sb_on_backup:
    ENTER_Y
    ldd   r22, Y_(APP_LEN)
    ldd   r23, Y_(APP_LEN) + 1
    rcall sizeOk
    ldi   r24, SB_ST_TOO_BIG
    brcs  popY
    ld    r24, Z
    ldi   r18, EE_COPY
    rjmp  blocksY

; RECORD: the next version of record p[0] (0: boot, 1 + i: slot i < FS_MAX_SLOTS), given
; without its CRC (so a slot record's frame fits a 61-byte radio packet), if the newest one is
; still the one the host read (its seq, or 0 for none, is in the request's seq field). A slot
; under transfer is the host's again.
.global sb_on_record
sb_on_record:
    push  r17
    movw  r30, r24
    ld    r17, Z
    ldi   r18, SB_BOOT_RECORD_SIZE - 4  ; the record without its CRC, which the store computes
    tst   r17
    breq  1f
    ldi   r18, SB_SLOT_RECORD_SIZE - 4
1:  ldi   r24, SB_ST_BAD_FRAME
    cpi   r17, SB_FS_MAX_SLOTS + 1
    brsh  9f
    lds   r19, sb_f + 1
    dec   r19
    cp    r19, r18
    brne  9f
    push  r18
    mov   r24, r17
    call  sb_rec_load
    lds   r24, sb_rseq              ; the newest's seq: rseq - 1, or 0 for none
    lds   r25, sb_rseq + 1
    sbiw  r24, 1
    lds   r18, sb_newest
    cpi   r18, 2
    brne  2f
    clr   r24
    clr   r25
2:  pop   r18
    lds   r19, P + 1
    cp    r19, r24
    lds   r19, P + 2
    cpc   r19, r25
    ldi   r24, SB_ST_STALE
    brne  9f
    ldi   r26, lo8(P + 1)
    ldi   r27, hi8(P + 1)
    ldi   r30, lo8(sb_pb)
    ldi   r31, hi8(sb_pb)
    rcall copy
    mov   r24, r17
    call  sb_rec_store
    mov   r24, r17
    dec   r24
    rcall endXfer
    ldi   r24, SB_ST_OK
9:  pop   r17
    ret

; SUPERBLOCK: the host's superblock to address 0; then its layout (or none) is ours.
.global sb_on_superblock
sb_on_superblock:
    push  r28
    push  r29
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    movw  r22, r24
    ldi   r24, 0
    ldi   r25, 0
    ldi   r20, SB_SUPERBLOCK_SIZE
    ldi   r18, OP_WAIT
    rcall ee
    rcall readLayout
    rjmp  okY

; Reads the superblock into sb_pb and takes its layout if it is one for this node: its CRC, our
; chip's size, 1 .. FS_MAX_SLOTS slots; else slots = 0 (not formatted). Y = sb_S.
readLayout:
    ldi   r24, 0
    ldi   r25, 0
    ldi   r22, lo8(sb_pb)
    ldi   r23, hi8(sb_pb)
    ldi   r20, SB_SUPERBLOCK_SIZE
    ldi   r18, OP_READ
    rcall ee
    std   Y_(SLOTS), r1
    ldi   r24, lo8(sb_pb)
    ldi   r25, hi8(sb_pb)
    ldi   r22, SB_SUPERBLOCK_OFF_CRC
    ldi   r20, 0
    call  sb_crc_ok
    tst   r24
    breq  9f
    ldi   r30, lo8(sb_pb + SB_SUPERBLOCK_OFF_CHIP_SIZE)
    ldi   r31, hi8(sb_pb + SB_SUPERBLOCK_OFF_CHIP_SIZE)
    movw  r26, r28
    adiw  r26, SB_S_CHIP
    ldi   r18, 4
1:  ld    r0, Z+
    ld    r19, X+
    cpse  r0, r19
    rjmp  9f
    dec   r18
    brne  1b
    lds   r18, sb_pb + SB_SUPERBLOCK_OFF_SLOT_COUNT
    mov   r19, r18
    dec   r19
    cpi   r19, SB_FS_MAX_SLOTS
    brsh  9f
    std   Y_(SLOTS), r18
    lds   r18, sb_pb + SB_SUPERBLOCK_OFF_DATA_START
    std   Y_(DATA_START), r18
    lds   r18, sb_pb + SB_SUPERBLOCK_OFF_DATA_START + 1
    std   Y_(DATA_START) + 1, r18
    ldi   r26, lo8(sb_pb + SB_SUPERBLOCK_OFF_SLOT_SIZE)
    ldi   r27, hi8(sb_pb + SB_SUPERBLOCK_OFF_SLOT_SIZE)
    movw  r30, r28
    adiw  r30, SB_S_SLOT_SIZE
    ldi   r18, 3
    rcall copy
9:  ret

; uint8_t sb_boot_load(void): the boot record into sb_pb, NO_SLOT in its slot, current and
; backup when there is none; returns its state (0: none).
.global sb_boot_load
sb_boot_load:
    ldi   r24, 0
    call  sb_rec_load
    tst   r24
    brne  1f
    ldi   r25, SB_NO_SLOT
    sts   sb_pb + SB_BOOT_RECORD_OFF_SLOT, r25
    sts   sb_pb + SB_BOOT_RECORD_OFF_CURRENT, r25
    sts   sb_pb + SB_BOOT_RECORD_OFF_BACKUP, r25
1:  ret

; uint8_t sb_confirm(void) (CONFIRM and confirm()): a trial's image stays: IDLE, result
; CONFIRMED, and the watchdog the bootloader armed stops. Again after it succeeded (its reply
; was lost) is fine.
.global sb_confirm
sb_confirm:
    rcall sb_boot_load
    ldi   r30, lo8(sb_pb)
    ldi   r31, hi8(sb_pb)
    cpi   r24, SB_BOOT_TRIAL
    brne  2f
    ldi   r24, SB_BOOT_IDLE
    std   Z + SB_BOOT_RECORD_OFF_STATE, r24
    std   Z + SB_BOOT_RECORD_OFF_FLAGS, r1
    ldi   r24, SB_NO_SLOT
    std   Z + SB_BOOT_RECORD_OFF_BACKUP, r24
    ldi   r24, SB_RESULT_CONFIRMED
    std   Z + SB_BOOT_RECORD_OFF_RESULT, r24
    std   Z + SB_BOOT_RECORD_OFF_ATTEMPTS, r1
    ldi   r24, 0
    call  sb_rec_store
    lds   r24, sb_err
    tst   r24
    brne  1f
    rcall sb_wdt_off
1:  ldi   r24, SB_ST_OK
    ret
2:  cpi   r24, SB_BOOT_IDLE
    brne  3f
    ldd   r24, Z + SB_BOOT_RECORD_OFF_RESULT
    cpi   r24, SB_RESULT_CONFIRMED
    breq  1b
3:  ldi   r24, SB_ST_NOT_TRIAL
    ret

; void sb_wdt_off(void): stops the watchdog. WDRF first: while it is set the watchdog cannot be
; turned off. The change-enable sequence must not be interrupted (4 cycles).
.global sb_wdt_off
sb_wdt_off:
    in    r24, _SFR_IO_ADDR(MCUSR)
    andi  r24, ~(1 << WDRF) & 0xFF
    out   _SFR_IO_ADDR(MCUSR), r24
    in    r0, _SFR_IO_ADDR(SREG)
    cli
    ldi   r24, (1 << WDCE) | (1 << WDE)
    sts   WDTCSR, r24
    sts   WDTCSR, r1
    out   _SFR_IO_ADDR(SREG), r0
    ret

; uint8_t sb_begin(uint8_t i2c, uint8_t chip, uint32_t version) (StageBoot::begin()): the EEPROM
; (its I2C address; chip 0, 1, 2: 24LC256, 512, 1025, so 32 KiB << chip and 64- or 128-byte
; pages), the layout, the watchdog (kept only for a trial, which the bootloader armed), this
; image's length and CRC; 1 unless the EEPROM did not answer.
.global sb_begin
sb_begin:
    push  r28
    push  r29
    ldi   r28, lo8(sb_S)
    ldi   r29, hi8(sb_S)
    sts   sb_i2c, r24
    sbi   _SFR_IO_ADDR(PORTC), PORTC4 ; pull-ups on SDA and SCL, as Wire does
    sbi   _SFR_IO_ADDR(PORTC), PORTC5
    std   Y_(CHIP), r1
    ldi   r24, 0x80                 ; 32 KiB: 0x008000; 64: 0x010000; 128: 0x020000
    ldi   r25, 64
    tst   r22
    breq  1f
    ldi   r24, 0
    ldi   r25, 128
    lsr   r22
    inc   r22
1:  std   Y_(CHIP) + 1, r24
    std   Y_(CHIP) + 2, r22
    std   Y_(PAGE), r25
    std   Y_(APP_VERSION), r18
    std   Y_(APP_VERSION) + 1, r19
    std   Y_(APP_VERSION) + 2, r20
    std   Y_(APP_VERSION) + 3, r21
    ldi   r24, SB_NO_SLOT
    std   Y_(X_SLOT), r24
    ldi   r24, lo8(__data_load_end)  ; this image's length: .text + .data
    ldi   r25, hi8(__data_load_end)
    std   Y_(APP_LEN), r24
    std   Y_(APP_LEN) + 1, r25
    rcall readLayout
    lds   r24, sb_err
    tst   r24
    brne  9f
    rcall sb_boot_load
    cpi   r24, SB_BOOT_TRIAL
    breq  1f
    rcall sb_wdt_off
1:  ldi   r22, 0
    ldi   r23, 0
    ldi   r24, 0
    ldd   r20, Y_(APP_LEN)
    ldd   r21, Y_(APP_LEN) + 1
    ldi   r18, FLASH_CRC
    call  sb_blocks
    movw  r30, r28
    adiw  r30, SB_S_APP_CRC
    rcall crcOut
9:  ldi   r24, 1
    lds   r25, sb_err
    tst   r25
    breq  3f
    clr   r24
3:  pop   r29
    pop   r28
    ret
