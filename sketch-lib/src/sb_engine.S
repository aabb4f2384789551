; The request engine of the library in assembly: dispatch of a complete frame in sb_f (length
; check, slot check, handler, reply), the small requests (INFO, SLOT, BOOT, READ, REBOOT), the
; ACK sender, the held-frame runner and the background service. The other requests (BEGIN,
; DATA, CRC, RECORD, WRITE, BACKUP, CONFIRM) are in StageBoot.cpp; so are the virtual calls
; into the sketch's Print (sb_write, sb_reboot).
;
; Every handler is called as status = handler(p = sb_f + 4, i = p[0] in r22) after the length
; (and, for requests that name a slot, the slot) has been checked; it writes its reply over
; the request from p + 1 on and, when the reply is longer than the status byte, sets rlen.
;
; Size tricks:
; - One table gives each request type its payload length and its handler (3 bytes a type);
;   handlers with a C signature that fits (p in r24:25) are called directly, with no stub.
; - The slot check of requests that name a slot is done once here, not in each handler.
; - One copy loop (X to Z, r18 bytes) serves INFO, SLOT/BOOT and the ACK; one seal-and-write
;   tail serves every reply.
; - INFO zero-fills its reply and then stores only the fields that are not zero.
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
#define UNKNOWN 0xFF /* in REQ: no such request */

.section .text.sb_engine,"ax",@progbits

; Payload length (| SLOTARG) and handler of each request type, from type 1 (INFO) on. DATA
; never gets here (sb_dispatch hands it to sb_on_data first).
REQ:
    .byte 0                                     ; 1 INFO
    .word gs(hInfo)
    .byte SB_SLOT_QUERY_SIZE | SLOTARG          ; 2 SLOT
    .word gs(hRecord)
    .byte SB_BEGIN_REQUEST_SIZE | SLOTARG       ; 3 BEGIN
    .word gs(sb_on_begin)
    .byte UNKNOWN                               ; 4 DATA: not reached
    .word 0
    .byte SB_CRC_REQUEST_SIZE | SLOTARG         ; 5 CRC
    .word gs(sb_on_crc)
    .byte UNKNOWN                               ; 6 (ACTIVATE of protocol 1)
    .word 0
    .byte 0                                     ; 7 CONFIRM
    .word gs(sb_confirm)
    .byte UNKNOWN                               ; 8 (ERASE of protocol 1)
    .word 0
    .byte SB_READ_REQUEST_SIZE                  ; 9 READ
    .word gs(hRead)
    .byte 0                                     ; 10 REBOOT
    .word gs(hReboot)
    .byte 0                                     ; 11 BOOT
    .word gs(hRecord)
    .byte UNKNOWN                               ; 12 (FORMAT of protocol 1)
    .word 0
    .byte ANYLEN                                ; 13 RECORD
    .word gs(sb_on_record)
    .byte ANYLEN                                ; 14 WRITE
    .word gs(sb_on_write)
    .byte SB_SLOT_QUERY_SIZE | SLOTARG          ; 15 BACKUP
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
    jmp   sb_on_data
1:  push  r16
    push  r17
    movw  r16, r24                  ; out
    call  sb_drain                  ; a chunk in the page buffer goes first
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
    lpm   r19, Z+                   ; length | SLOTARG | ANYLEN, or UNKNOWN
    lpm   r0, Z+
    lpm   r31, Z
    mov   r30, r0                   ; the handler
    cpi   r19, UNKNOWN
    breq  .Lreply
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

; Copies r18 (>= 1) bytes from X to Z.
copy:
    ld    r0, X+
    st    Z+, r0
    dec   r18
    brne  copy
    ret

; INFO: who we are (INFO_REPLY in stageboot_protocol.h; appLen's upper bytes stay 0).
hInfo:
    push  r28
    push  r29
    call  sb_window
    push  r24
    call  sb_boot_load              ; boot record in sb_pb; r24 = its state
    push  r24
    rcall sb_app_max                ; r25 = its high byte (the low one is 0)
    ldi   r28, lo8(P)
    ldi   r29, hi8(P)
    movw  r30, r28
    ldi   r18, SB_INFO_REPLY_SIZE
1:  st    Z+, r1
    dec   r18
    brne  1b
    std   Y + SB_INFO_REPLY_OFF_APP_MAX + 1, r25
    pop   r24
    std   Y + SB_INFO_REPLY_OFF_BOOT_STATE, r24
    pop   r24
    std   Y + SB_INFO_REPLY_OFF_WINDOW, r24
    ldi   r24, SB_PROTOCOL_VERSION
    std   Y + SB_INFO_REPLY_OFF_PROTOCOL, r24
    ldi   r24, SIGNATURE_0
    std   Y + SB_INFO_REPLY_OFF_SIGNATURE, r24
    ldi   r24, SIGNATURE_1
    std   Y + SB_INFO_REPLY_OFF_SIGNATURE + 1, r24
    ldi   r24, SIGNATURE_2
    std   Y + SB_INFO_REPLY_OFF_SIGNATURE + 2, r24
    ldi   r24, 0x80                 ; flash size: 32 KiB
    std   Y + SB_INFO_REPLY_OFF_FLASH_SIZE + 1, r24
    ldi   r24, SB_MAX_CHUNK
    std   Y + SB_INFO_REPLY_OFF_MAX_CHUNK, r24
    ldi   r30, lo8(SB_BL_VERSION_ADDR)
    ldi   r31, hi8(SB_BL_VERSION_ADDR)
    lpm   r24, Z+
    std   Y + SB_INFO_REPLY_OFF_BL_VERSION, r24
    lpm   r24, Z
    std   Y + SB_INFO_REPLY_OFF_BL_VERSION + 1, r24
    lds   r24, S(PAGE)
    std   Y + SB_INFO_REPLY_OFF_PAGE_SIZE, r24
    lds   r24, S(SLOTS)
    std   Y + SB_INFO_REPLY_OFF_SLOT_COUNT, r24
    lds   r24, sb_pb + SB_BOOT_RECORD_OFF_CURRENT
    std   Y + SB_INFO_REPLY_OFF_CURRENT, r24
    lds   r24, sb_pb + SB_BOOT_RECORD_OFF_RESULT
    std   Y + SB_INFO_REPLY_OFF_RESULT, r24
    movw  r30, r28
    adiw  r30, SB_INFO_REPLY_OFF_CHIP_SIZE
    ldi   r26, lo8(S(CHIP))
    ldi   r27, hi8(S(CHIP))
    ldi   r18, 3
    rcall copy
    adiw  r30, SB_INFO_REPLY_OFF_APP_VERSION - SB_INFO_REPLY_OFF_CHIP_SIZE - 3
    ldi   r26, lo8(S(APP_VERSION))  ; version, CRC and length follow each other in the state
    ldi   r27, hi8(S(APP_VERSION))
    ldi   r18, 10
    rcall copy
    ldi   r24, SB_INFO_REPLY_SIZE
    sts   S(RLEN), r24
    pop   r29
    pop   r28
    rjmp  .Lok

; SLOT (slot i's record) and BOOT (the boot record): the raw newest record; the host decodes it.
hRecord:
    lds   r24, sb_f + 2
    cpi   r24, SB_MSG_SLOT
    ldi   r24, 0                    ; record 0: the boot record
    brne  1f
    mov   r24, r22
    inc   r24                       ; record 1 + i: slot i
1:  push  r24
    call  sb_rec_load
    pop   r24
    ldi   r18, SB_BOOT_RECORD_SIZE
    tst   r24
    breq  2f
    ldi   r18, SB_SLOT_RECORD_SIZE
2:  mov   r24, r18
    inc   r24
    sts   S(RLEN), r24
    ldi   r26, lo8(sb_pb)
    ldi   r27, hi8(sb_pb)
    ldi   r30, lo8(P + 1)
    ldi   r31, hi8(P + 1)
    rcall copy
    rjmp  .Lok

; READ: n (1..MAX_CHUNK) bytes of the EEPROM at a (below 2^24), inside the chip and inside one
; 64 KiB block (a 24LC1025's sequential read wraps there; the host splits reads at it).
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
    movw  r22, r24                  ; end - 1 = a + n - 1 (r22, r23, r26)
    mov   r26, r19
    add   r22, r18
    adc   r23, r1
    adc   r26, r1
    cpse  r26, r19
    rjmp  .Lrange                   ; the last byte is in the next 64 KiB block
    subi  r22, 0xFF                 ; end = a + n, compared with the chip's size
    sbci  r23, 0xFF
    sbci  r26, 0xFF
    lds   r18, S(CHIP)
    cp    r18, r22
    lds   r18, S(CHIP) + 1
    cpc   r18, r23
    lds   r18, S(CHIP) + 2
    cpc   r18, r26
    brlo  .Lrange
    mov   r18, r20
    inc   r18
    sts   S(RLEN), r18
    lsl   r19
    lsl   r19
    ldi   r18, OP_READ
    or    r18, r19
    ldi   r22, lo8(P + 1)
    ldi   r23, hi8(P + 1)
    call  sb_ee
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
    call  sb_persist
1:  ldi   r24, 1
    sts   S(REBOOT), r24
.Lok:
    ldi   r24, SB_ST_OK
    ret

; uint16_t sb_app_max(void): the first byte of the boot section, from BOOTSZ1:0 (high fuse bits
; 2:1): 00 = 4 KiB section ... 11 = 512 B. The low byte is always 0.
.global sb_app_max
sb_app_max:
    ldi   r30, 3                    ; GET_HIGH_FUSE_BITS
    clr   r31
    ldi   r24, (1 << BLBSET) | (1 << SELFPRGEN)
    out   _SFR_IO_ADDR(SPMCSR), r24
    lpm   r24, Z                    ; within 3 cycles of the SPMCSR write
    lsr   r24
    andi  r24, 3
    ldi   r25, 0x10                 ; the section's size in 256-byte units, >> BOOTSZ
    rjmp  2f
1:  lsr   r25
2:  subi  r24, 1
    brcc  1b
    neg   r25
    subi  r25, 0x80                 ; -size - 0x80 = 0x80 - size (mod 256)
    clr   r24
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
    call  sb_pump
    lds   r24, S(HELD)
    tst   r24
    breq  1f
    lds   r24, S(HELD_OUT)
    lds   r25, S(HELD_OUT) + 1
    rjmp  sb_run
1:  ret
