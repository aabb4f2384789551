// Byte offsets of the fields of sb_state (sb_core.h), for the assembly, which reaches the state
// as sb_S + offset (or through a pointer register with displacement loads). Only #defines, so
// .S files can include it; StageBoot.cpp checks each one against the struct (static_assert).
#ifndef STAGEBOOT_SB_STATE_H
#define STAGEBOOT_SB_STATE_H

#include "sb_config.h"

#define SB_S_CHIP 0       // sb_u24: EEPROM size
#define SB_S_SLOT_SIZE 3  // sb_u24: bytes per slot data area
#define SB_S_DATA_START 6 // uint16_t: slot 0's data area
#define SB_S_PAGE 8
#define SB_S_CUM 9  // uint16_t
#define SB_S_SEL 11 // uint16_t
#define SB_S_SLOTS 13
#define SB_S_REBOOT 14
#define SB_S_RLEN 15
#define SB_S_HELD 16
#define SB_S_LAST_RX 17
#define SB_S_HELD_OUT 18 // Print *
#define SB_S_PB_MODE 20
#define SB_S_PB_LEN 21
#define SB_S_PB_SEQ 22
#if !SB_DIRECT
#define SB_S_PB_CHUNK 23 // uint16_t
#define SB_S_PB_ADDR 25  // sb_u24
#define SB_S_PB_OUT 28   // Print *
#else
#define SB_S_PB_OUT 23
#endif
#define SB_S_X_SLOT (SB_S_PB_OUT + 2)
#define SB_S_X_NEWEST (SB_S_PB_OUT + 3)
#define SB_S_X_CHUNK (SB_S_PB_OUT + 4)
#define SB_S_X_SHIFT (SB_S_PB_OUT + 5)
#define SB_S_X_NEXT (SB_S_PB_OUT + 6)   // uint16_t
#define SB_S_X_LEN (SB_S_PB_OUT + 8)    // uint16_t
#define SB_S_X_COUNT (SB_S_PB_OUT + 10) // uint16_t
#define SB_S_X_SAVED (SB_S_PB_OUT + 12) // uint16_t
#define SB_S_X_ADDR (SB_S_PB_OUT + 14)  // sb_u24
#define SB_S_APP_VERSION (SB_S_PB_OUT + 17) // uint32_t
#define SB_S_APP_CRC (SB_S_PB_OUT + 21)     // uint32_t
#define SB_S_APP_LEN (SB_S_PB_OUT + 25)     // uint16_t
#define SB_S_SIZE (SB_S_PB_OUT + 27)

#endif
