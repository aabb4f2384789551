// Byte offsets of the fields of sb_state (sb_core.h), for the assembly, which reaches the state
// as sb_S + offset. Only #defines, so .S files can include it; StageBoot.cpp checks each one
// against the struct (static_assert).
#ifndef STAGEBOOT_SB_STATE_H
#define STAGEBOOT_SB_STATE_H

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
#define SB_S_PB_OUT 23 // Print *
#define SB_S_X_SLOT 25
#define SB_S_X_SHIFT 26
#define SB_S_X_LEN 27   // uint16_t
#define SB_S_X_COUNT 29 // uint16_t
#define SB_S_X_SAVED 31 // uint16_t
#define SB_S_X_ADDR 33  // sb_u24
#define SB_S_APP_VERSION 36 // uint32_t; appCrc and appLen follow, as INFO orders them
#define SB_S_APP_CRC 40     // uint32_t
#define SB_S_APP_LEN 44     // uint16_t
#define SB_S_SIZE 46

#endif
