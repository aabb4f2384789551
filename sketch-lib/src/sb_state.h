// Byte offsets of the fields of sb_state (sb_core.h), for the assembly, which reaches the state
// as sb_S + offset. Only #defines, so .S files can include it; StageBoot.cpp checks each one
// against the struct (static_assert).
#ifndef STAGEBOOT_SB_STATE_H
#define STAGEBOOT_SB_STATE_H

#include "sb_config.h"

#define SB_S_SLOT_SIZE 0  // sb_u24: bytes per slot data area
#define SB_S_DATA_START 3 // uint16_t: slot 0's data area
#define SB_S_CUM 5        // uint16_t
#define SB_S_SEL 7        // uint16_t
#define SB_S_REBOOT 9
#define SB_S_RLEN 10
#define SB_S_HELD 11
#define SB_S_LAST_RX 12
#define SB_S_HELD_OUT 13 // Print *
#define SB_S_PB_MODE 15
#define SB_S_PB_LEN 16
#define SB_S_PB_SEQ 17
#define SB_S_PB_OUT 18 // Print *
#define SB_S_X_SLOT 20
#define SB_S_X_SHIFT 21
#define SB_S_X_LEN 22   // uint16_t
#define SB_S_X_COUNT 24 // uint16_t
#define SB_S_X_SAVED 26 // uint16_t
#define SB_S_X_ADDR 28  // sb_u24
#define SB_S_PAGE 31    // InfoReply's pageSize .. appLen from here, in its order
#define SB_S_SLOTS 32
#define SB_S_CHIP 33        // uint32_t: EEPROM size
#define SB_S_APP_VERSION 37 // uint32_t
#define SB_S_APP_CRC 41     // uint32_t
#define SB_S_APP_LEN 45     // uint32_t
#if SB_MAX_CHUNK == 64
#define SB_S_PB_CHUNK 49 // uint16_t: the chunk in the page buffer
#define SB_S_PB_ADDR 51  // sb_u24: its EEPROM address
#define SB_S_SIZE 54
#else
#define SB_S_SIZE 49
#endif

#endif
