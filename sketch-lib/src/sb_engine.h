// The node side of protocol/WIRE.md and the record rules of protocol/STATES.md, independent of
// Arduino: bytes come in through sb_feed, EEPROM and flash go through sb_io.h. One instance
// per sketch (there is one bootloader and one EEPROM), so the state is a single static struct.
#ifndef STAGEBOOT_SB_ENGINE_H
#define STAGEBOOT_SB_ENGINE_H

#include <stdint.h>
#include "sb_core.h"

// Rewrite the receiving slot's progress after this many newly written payload bytes (32 pages
// of a 24LC256). Each rewrite costs about one and a half chunk times (a record read and a write
// cycle, about 4 % of the transfer here); a reset resends at most this much.
#ifndef SB_PERSIST_BYTES
#define SB_PERSIST_BYTES 2048
#endif

// Reads the superblock (formats the EEPROM if there is none) and finds out which image runs:
// the slot that `current` names if its payload CRC matches flash, else the linked image of
// imageLen bytes with the given version. Returns a Status.
uint8_t sb_begin(uint32_t chipSize, uint8_t pageSize, uint32_t appVersion, uint16_t imageLen);
// 1 while the engine can take another byte (not holding a frame, no background job).
uint8_t sb_wants_bytes(void);
// One received byte; `out` is where replies to the frame it completes go.
void sb_feed(uint8_t b, void *out);
// The line has been quiet for a few byte times: a partial frame will not complete (see
// protocol/WIRE.md); rescan past its SOF. Returns 1 while a partial frame is still held.
uint8_t sb_idle(void *out);
// Background work: hands the page buffer to the EEPROM when it is free, runs jobs (END's CRC,
// the trial backup copy, FORMAT) one short step at a time.
void sb_service(void);

// Sketch-side requests; out = null means no reply is sent. Return a Status.
uint8_t sb_confirm(void);
uint8_t sb_activate(uint8_t slot, uint8_t mode);
// The newest valid boot record into *rec (zeros if none); returns its state (0: none).
uint8_t sb_boot_record_get(sb_boot_record *rec);
// A slot's state (SB_SLOT_EMPTY when it has no valid record) and, if hdr, its image header.
uint8_t sb_slot_get(uint8_t slot, sb_image_header *hdr);
uint8_t sb_slot_count(void);
uint32_t sb_app_version(void);
uint32_t sb_app_crc(void);

#endif
