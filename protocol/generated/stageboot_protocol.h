/* Generated from protocol/spec.ts by protocol/gen/generate.ts. Do not edit: run `make gen`. */
#ifndef STAGEBOOT_PROTOCOL_H
#define STAGEBOOT_PROTOCOL_H

#ifdef __ASSEMBLER__
#define SB_UL(v) v
#else
#include <stdint.h>
#define SB_UL(v) v##UL
#ifdef __cplusplus
#define SB_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define SB_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
#endif

/* ---- constants ---- */
/* Version of the frame protocol; INFO reports it. */
#define SB_PROTOCOL_VERSION 2
/* Image header magic: the bytes "SBIM" in file order. */
#define SB_IMAGE_MAGIC SB_UL(0x4D494253)
/* Image header format version. */
#define SB_IMAGE_FORMAT 1
/* Superblock magic: the bytes "SBFS" in EEPROM order. */
#define SB_FS_MAGIC SB_UL(0x53464253)
/* EEPROM layout version. */
#define SB_FS_LAYOUT 1
/* Default distance between metadata records: one record per page on chips with pages up to 128 B, so a torn page write can only hit one copy. */
#define SB_FS_REC_PITCH SB_UL(0x80)
/* Boot record copy A sits at 1 x pitch. */
#define SB_FS_BOOT_REC_A 1
/* Boot record copy B sits at 2 x pitch. */
#define SB_FS_BOOT_REC_B 2
/* Slot i record copies sit at (3 + 2i) and (4 + 2i) x pitch. */
#define SB_FS_SLOT_REC_BASE 3
/* Most slots a layout may have. */
#define SB_FS_MAX_SLOTS 8
/* Slot number meaning "none". */
#define SB_NO_SLOT SB_UL(0xFF)
/* First byte of every frame. */
#define SB_FRAME_SOF SB_UL(0x7E)
/* SOF, length, type, sequence. */
#define SB_FRAME_HEADER 4
/* Header plus the CRC-16 trailer. */
#define SB_FRAME_OVERHEAD 6
/* Largest payload a frame may carry. */
#define SB_FRAME_MAX_PAYLOAD SB_UL(0xFA)
/* A reply carries the request type with this bit set. */
#define SB_REPLY_BIT SB_UL(0x80)
/* Smallest chunk a node must accept. */
#define SB_CHUNK_MIN SB_UL(0x10)
/* Chunks past the cumulative ack covered by the selective-ack bitmap. */
#define SB_ACK_WINDOW SB_UL(0x10)
/* Boot section the stageboot bootloader occupies on the ATmega328P (BOOTSZ = 512 words): applications end below it. */
#define SB_BL_SECTION_BYTES SB_UL(0x400)
/* Flash word holding the bootloader version (major<<8 | minor), as Optiboot does. */
#define SB_BL_VERSION_ADDR SB_UL(0x7FFE)
/* Watchdog period armed for a trial boot: the app must confirm (or feed the dog) within it. */
#define SB_TRIAL_WDT_SECONDS 8
/* Verify failures after which the bootloader gives up on an install. */
#define SB_INSTALL_MAX_ATTEMPTS 3

/* ---- ImageFlag: Bits of ImageHeader.flags. ---- */
#define SB_IMGF_CONFIRMS 0x01 /* The image links the stageboot runtime and confirms a trial boot. */

/* ---- SlotState: What a slot holds. Erased EEPROM (0xFF) reads as no valid record, i.e. EMPTY. ---- */
#define SB_SLOT_EMPTY 0x01 /* Holds nothing. */
#define SB_SLOT_RECEIVING 0x02 /* A transfer is under way; `progress` bytes of the payload are written in order. */
#define SB_SLOT_STAGED 0x03 /* Complete; the node checked the payload CRC-32 from the EEPROM. */
#define SB_SLOT_BAD 0x04 /* Failed a check (CRC, target, size); never installed. */

/* ---- BootState: The bootloader's state machine (protocol/STATES.md). ---- */
#define SB_BOOT_IDLE 0x01 /* Nothing to do; `current` holds the slot whose image is in flash (or NO_SLOT). */
#define SB_BOOT_PENDING 0x02 /* Install `slot` at the next reset (mode in `flags`). */
#define SB_BOOT_INSTALLING 0x03 /* The copy into flash has begun: never run the app; finish the copy. */
#define SB_BOOT_TRIAL 0x04 /* A trial image runs unconfirmed; a reset before confirm reverts to `backup`. */

/* ---- BootFlag: Bits of BootRecord.flags. ---- */
#define SB_BOOTF_TRIAL 0x01 /* Install for trial: arm the watchdog and revert unless confirmed. */

/* ---- BootResult: Outcome of the last activation, kept in BootRecord.result. ---- */
#define SB_RESULT_NONE 0x00 /* No activation yet. */
#define SB_RESULT_INSTALLED 0x01 /* The image was installed (while INSTALLING: what success will mean). */
#define SB_RESULT_CONFIRMED 0x02 /* A trial image was confirmed by the application. */
#define SB_RESULT_REVERTED 0x03 /* A trial was not confirmed; the backup image was reinstalled. */
#define SB_RESULT_BAD_HEADER 0x10 /* The slot has no valid record or header. */
#define SB_RESULT_WRONG_TARGET 0x11 /* The image was built for another chip. */
#define SB_RESULT_TOO_BIG 0x12 /* The image does not fit below the bootloader. */
#define SB_RESULT_BAD_CRC 0x13 /* The payload CRC-32 in the EEPROM does not match the header. */
#define SB_RESULT_VERIFY_FAILED 0x14 /* Flash read back differs from the image after INSTALL_MAX_ATTEMPTS tries. */
#define SB_RESULT_NOT_STAGED 0x15 /* The slot is not in the STAGED state. */

/* ---- ActivateMode: How ACTIVATE installs a staged image. ---- */
#define SB_ACT_NOW 0x00 /* Mark pending and reboot into the bootloader now. */
#define SB_ACT_NEXT_RESET 0x01 /* Mark pending; install at the next reset, whenever it comes. */
#define SB_ACT_TRIAL 0x02 /* Save the running image as backup, install for trial and reboot now. */

/* ---- Status: First byte of every reply. ---- */
#define SB_ST_OK 0x00 /* Done. */
#define SB_ST_BAD_FRAME 0x01 /* The request payload has the wrong length or fields. */
#define SB_ST_UNKNOWN_TYPE 0x02 /* The node does not know this request type. */
#define SB_ST_BAD_SLOT 0x03 /* No such slot. */
#define SB_ST_WRONG_TARGET 0x04 /* The image was built for another chip. */
#define SB_ST_TOO_BIG 0x05 /* The image does not fit the slot or the flash below the bootloader. */
#define SB_ST_BAD_HEADER 0x06 /* The image header is malformed or its CRC is wrong. */
#define SB_ST_BUSY 0x07 /* The node cannot take the request now; retry. */
#define SB_ST_NOT_RECEIVING 0x08 /* DATA or END without a transfer under way in that slot. */
#define SB_ST_BAD_CRC 0x09 /* The payload CRC-32 computed from the EEPROM does not match the header. */
#define SB_ST_NOT_STAGED 0x0A /* ACTIVATE of a slot that is not STAGED. */
#define SB_ST_NO_BACKUP_ROOM 0x0B /* A trial needs a free slot to save the running image in; there is none. */
#define SB_ST_SLOT_IN_USE 0x0C /* The slot is pending, installing, or the backup of a running trial. */
#define SB_ST_EEPROM_ERROR 0x0D /* The EEPROM did not answer on I2C. */
#define SB_ST_NOT_TRIAL 0x0E /* CONFIRM while no trial is running. */
#define SB_ST_BAD_RANGE 0x0F /* READ outside the EEPROM, or a chunk outside the image. */
#define SB_ST_NOT_FORMATTED 0x10 /* The EEPROM holds no valid superblock. */
#define SB_ST_STALE 0x11 /* RECORD: the record changed since the host read it (its seq is not the one the request names); read it again. */

/* ---- SlotRole: Roles of a slot, which the host derives from the boot record (the `slots` command shows them). ---- */
#define SB_ROLE_CURRENT 0x01 /* Its image is the one in flash. */
#define SB_ROLE_PENDING 0x02 /* It will be installed at the next reset. */
#define SB_ROLE_BACKUP 0x04 /* It holds the image a running trial reverts to. */

/* ---- message types: a reply is the request type | SB_REPLY_BIT ---- */
#define SB_MSG_INFO 0x01 /* Who are you? Starts every session. */
#define SB_MSG_BEGIN 0x02 /* Open a transfer into a slot. */
#define SB_MSG_DATA 0x03 /* One chunk; answered by ACK frames. */
#define SB_MSG_CRC 0x04 /* CRC-32 of slot data from the EEPROM; ends a transfer into that slot. */
#define SB_MSG_CONFIRM 0x05 /* Confirm the running trial image (and stop the watchdog). */
#define SB_MSG_READ 0x06 /* Read raw EEPROM bytes (the superblock, record copies, slot data). */
#define SB_MSG_REBOOT 0x07 /* Reset through the watchdog after replying. */
#define SB_MSG_RECORD 0x08 /* Write the next version of the boot record or a slot record. */
#define SB_MSG_SUPERBLOCK 0x09 /* Write the superblock; the node takes its layout. */
#define SB_MSG_BACKUP 0x0A /* Copy the running application (appLen bytes of flash) into a slot's data area. */

/* ImageHeader: Starts every image: in a file, in a BEGIN request and in a slot record. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint32_t magic; /* IMAGE_MAGIC. */
  uint8_t format; /* IMAGE_FORMAT. */
  uint8_t headerSize; /* Size of this header in bytes; lets later formats grow it. */
  uint16_t flags; /* ImageFlag bits. */
  uint8_t signature[3]; /* Target device signature, e.g. 1E 95 0F for the ATmega328P. */
  uint8_t reserved; /* Zero. */
  uint32_t loadAddr; /* Flash address of the first payload byte (0 for an application). */
  uint32_t length; /* Payload length in bytes. */
  uint32_t payloadCrc; /* CRC-32 (IEEE) of the payload. */
  uint32_t appVersion; /* Application version chosen by the user (e.g. major<<16 | minor<<8 | patch). */
  uint32_t buildId; /* Identifies the build; the host derives it from the payload unless given. */
  uint32_t headerCrc; /* CRC-32 of all bytes before this field. */
} sb_image_header;
SB_STATIC_ASSERT(sizeof(sb_image_header) == 36, "sb_image_header layout");
#endif
#define SB_IMAGE_HEADER_SIZE 36
#define SB_IMAGE_HEADER_OFF_MAGIC 0
#define SB_IMAGE_HEADER_OFF_FORMAT 4
#define SB_IMAGE_HEADER_OFF_HEADER_SIZE 5
#define SB_IMAGE_HEADER_OFF_FLAGS 6
#define SB_IMAGE_HEADER_OFF_SIGNATURE 8
#define SB_IMAGE_HEADER_OFF_RESERVED 11
#define SB_IMAGE_HEADER_OFF_LOAD_ADDR 12
#define SB_IMAGE_HEADER_OFF_LENGTH 16
#define SB_IMAGE_HEADER_OFF_PAYLOAD_CRC 20
#define SB_IMAGE_HEADER_OFF_APP_VERSION 24
#define SB_IMAGE_HEADER_OFF_BUILD_ID 28
#define SB_IMAGE_HEADER_OFF_HEADER_CRC 32

/* Superblock: EEPROM address 0: describes the chip and the slots. Written once, when formatting. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint32_t magic; /* FS_MAGIC. */
  uint8_t layout; /* FS_LAYOUT. */
  uint8_t slotCount; /* Number of slots. */
  uint16_t pageSize; /* EEPROM page size in bytes. */
  uint16_t recPitch; /* Distance between metadata records (>= page size, power of two). */
  uint16_t reserved; /* Zero. */
  uint32_t chipSize; /* EEPROM size in bytes. */
  uint32_t dataStart; /* Address of slot 0's data area (page aligned). */
  uint32_t slotSize; /* Bytes per slot data area (multiple of the page size). */
  uint32_t crc; /* CRC-32 of all bytes before this field. */
} sb_superblock;
SB_STATIC_ASSERT(sizeof(sb_superblock) == 28, "sb_superblock layout");
#endif
#define SB_SUPERBLOCK_SIZE 28
#define SB_SUPERBLOCK_OFF_MAGIC 0
#define SB_SUPERBLOCK_OFF_LAYOUT 4
#define SB_SUPERBLOCK_OFF_SLOT_COUNT 5
#define SB_SUPERBLOCK_OFF_PAGE_SIZE 6
#define SB_SUPERBLOCK_OFF_REC_PITCH 8
#define SB_SUPERBLOCK_OFF_RESERVED 10
#define SB_SUPERBLOCK_OFF_CHIP_SIZE 12
#define SB_SUPERBLOCK_OFF_DATA_START 16
#define SB_SUPERBLOCK_OFF_SLOT_SIZE 20
#define SB_SUPERBLOCK_OFF_CRC 24

/* BootRecord: Tells the bootloader what to do at reset. Two copies (FS_BOOT_REC_A/B); the valid one with the newer seq wins; a write goes to the other copy. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint16_t seq; /* Sequence number; newer means (int16)(a - b) > 0. */
  uint8_t state; /* BootState. */
  uint8_t flags; /* BootFlag bits. */
  uint8_t slot; /* Slot to install (PENDING, INSTALLING) or installed (TRIAL). */
  uint8_t current; /* Slot whose image is in flash, or NO_SLOT (e.g. after a serial upload). */
  uint8_t backup; /* Slot holding the image to revert to, or NO_SLOT. */
  uint8_t result; /* BootResult of the last activation. */
  uint8_t attempts; /* Verify failures of the install under way. */
  uint8_t reserved[3]; /* Zero. */
  uint32_t crc; /* CRC-32 of all bytes before this field. */
} sb_boot_record;
SB_STATIC_ASSERT(sizeof(sb_boot_record) == 16, "sb_boot_record layout");
#endif
#define SB_BOOT_RECORD_SIZE 16
#define SB_BOOT_RECORD_OFF_SEQ 0
#define SB_BOOT_RECORD_OFF_STATE 2
#define SB_BOOT_RECORD_OFF_FLAGS 3
#define SB_BOOT_RECORD_OFF_SLOT 4
#define SB_BOOT_RECORD_OFF_CURRENT 5
#define SB_BOOT_RECORD_OFF_BACKUP 6
#define SB_BOOT_RECORD_OFF_RESULT 7
#define SB_BOOT_RECORD_OFF_ATTEMPTS 8
#define SB_BOOT_RECORD_OFF_RESERVED 9
#define SB_BOOT_RECORD_OFF_CRC 12

/* SlotRecord: Describes one slot. Two copies per slot; same rule as the boot record. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint16_t seq; /* Sequence number. */
  uint8_t state; /* SlotState. */
  uint8_t reserved; /* Zero. */
  uint32_t dataAddr; /* EEPROM address of the slot's data area (copied from the superblock so the bootloader need not compute it). */
  uint32_t capacity; /* Size of the data area. */
  uint32_t progress; /* Payload bytes written in order (RECEIVING); equals header.length when STAGED. */
  sb_image_header header; /* The image this slot holds or receives. */
  uint32_t crc; /* CRC-32 of all bytes before this field. */
} sb_slot_record;
SB_STATIC_ASSERT(sizeof(sb_slot_record) == 56, "sb_slot_record layout");
#endif
#define SB_SLOT_RECORD_SIZE 56
#define SB_SLOT_RECORD_OFF_SEQ 0
#define SB_SLOT_RECORD_OFF_STATE 2
#define SB_SLOT_RECORD_OFF_RESERVED 3
#define SB_SLOT_RECORD_OFF_DATA_ADDR 4
#define SB_SLOT_RECORD_OFF_CAPACITY 8
#define SB_SLOT_RECORD_OFF_PROGRESS 12
#define SB_SLOT_RECORD_OFF_HEADER 16
#define SB_SLOT_RECORD_OFF_CRC 52

/* StatusReply: Reply carrying only a status. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t status; /* Status. */
} sb_status_reply;
SB_STATIC_ASSERT(sizeof(sb_status_reply) == 1, "sb_status_reply layout");
#endif
#define SB_STATUS_REPLY_SIZE 1
#define SB_STATUS_REPLY_OFF_STATUS 0

/* InfoReply: Who the node is: the first exchange of every session. What the EEPROM holds the host reads itself (READ: the superblock, the records). */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t status; /* Status. */
  uint8_t protocol; /* PROTOCOL_VERSION. */
  uint8_t signature[3]; /* Device signature. */
  uint8_t window; /* DATA frames the host may have unacknowledged. */
  uint16_t blVersion; /* Bootloader version word at BL_VERSION_ADDR (0xFFFF: none). */
  uint16_t maxChunk; /* Largest chunk the node accepts. */
  uint8_t pageSize; /* EEPROM page size the node is built for. */
  uint8_t slotCount; /* Slots in the layout the node uses (0: no valid superblock for this chip; the host formats). */
  uint32_t chipSize; /* EEPROM size the node is built for. */
  uint32_t appVersion; /* Running application's version as compiled in (the host shows the header's when a slot holds this very image). */
  uint32_t appCrc; /* CRC-32 of the running application's appLen bytes of flash. */
  uint32_t appLen; /* Length of the running application (its .text + .data), the bytes BACKUP copies. */
} sb_info_reply;
SB_STATIC_ASSERT(sizeof(sb_info_reply) == 28, "sb_info_reply layout");
#endif
#define SB_INFO_REPLY_SIZE 28
#define SB_INFO_REPLY_OFF_STATUS 0
#define SB_INFO_REPLY_OFF_PROTOCOL 1
#define SB_INFO_REPLY_OFF_SIGNATURE 2
#define SB_INFO_REPLY_OFF_WINDOW 5
#define SB_INFO_REPLY_OFF_BL_VERSION 6
#define SB_INFO_REPLY_OFF_MAX_CHUNK 8
#define SB_INFO_REPLY_OFF_PAGE_SIZE 10
#define SB_INFO_REPLY_OFF_SLOT_COUNT 11
#define SB_INFO_REPLY_OFF_CHIP_SIZE 12
#define SB_INFO_REPLY_OFF_APP_VERSION 16
#define SB_INFO_REPLY_OFF_APP_CRC 20
#define SB_INFO_REPLY_OFF_APP_LEN 24

/* SlotQuery: A request naming a slot (BACKUP). */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t slot; /* Slot number. */
} sb_slot_query;
SB_STATIC_ASSERT(sizeof(sb_slot_query) == 1, "sb_slot_query layout");
#endif
#define SB_SLOT_QUERY_SIZE 1
#define SB_SLOT_QUERY_OFF_SLOT 0

/* BeginRequest: Open a transfer into a slot whose record the host has made RECEIVING (with RECORD). The node writes nothing yet. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t slot; /* Slot number. */
  uint8_t reserved; /* Zero. */
  uint16_t chunkSize; /* Payload bytes per DATA chunk: a power of two from CHUNK_MIN to maxChunk that divides the EEPROM page size, so no chunk straddles a page (chunk n is at offset n x chunkSize). Others are refused with BAD_FRAME. */
  uint32_t length; /* Payload length (1 .. the slot size, else TOO_BIG). */
  uint16_t startChunk; /* First chunk the host will send (a resume: the slot record's progress / chunkSize); every chunk below it counts as written. */
  uint16_t reserved2; /* Zero. */
} sb_begin_request;
SB_STATIC_ASSERT(sizeof(sb_begin_request) == 12, "sb_begin_request layout");
#endif
#define SB_BEGIN_REQUEST_SIZE 12
#define SB_BEGIN_REQUEST_OFF_SLOT 0
#define SB_BEGIN_REQUEST_OFF_RESERVED 1
#define SB_BEGIN_REQUEST_OFF_CHUNK_SIZE 2
#define SB_BEGIN_REQUEST_OFF_LENGTH 4
#define SB_BEGIN_REQUEST_OFF_START_CHUNK 8
#define SB_BEGIN_REQUEST_OFF_RESERVED2 10

/* DataRequest: One chunk. Not answered one by one: the node sends ACK frames. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint16_t chunk; /* Chunk index. */
  uint8_t data[]; /* chunkSize bytes (fewer for the last chunk). */
} sb_data_request;
SB_STATIC_ASSERT(sizeof(sb_data_request) == 2, "sb_data_request layout");
#endif
#define SB_DATA_REQUEST_SIZE 2
#define SB_DATA_REQUEST_OFF_CHUNK 0
#define SB_DATA_REQUEST_OFF_DATA 2

/* AckReply: Cumulative and selective acknowledgement (type DATA | REPLY_BIT). */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t status; /* OK, or why the node stopped accepting chunks. */
  uint8_t reserved; /* Zero. */
  uint16_t cumulative; /* Every chunk below this index is written. */
  uint16_t selective; /* Bit i set: chunk cumulative + 1 + i is written too. */
} sb_ack_reply;
SB_STATIC_ASSERT(sizeof(sb_ack_reply) == 6, "sb_ack_reply layout");
#endif
#define SB_ACK_REPLY_SIZE 6
#define SB_ACK_REPLY_OFF_STATUS 0
#define SB_ACK_REPLY_OFF_RESERVED 1
#define SB_ACK_REPLY_OFF_CUMULATIVE 2
#define SB_ACK_REPLY_OFF_SELECTIVE 4

/* CrcRequest: CRC-32 of the first `length` bytes of a slot's data area, read from the EEPROM. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t slot; /* Slot number. */
  uint8_t reserved[3]; /* Zero. */
  uint32_t length; /* Bytes from the start of the data area (1 .. the slot size). */
} sb_crc_request;
SB_STATIC_ASSERT(sizeof(sb_crc_request) == 8, "sb_crc_request layout");
#endif
#define SB_CRC_REQUEST_SIZE 8
#define SB_CRC_REQUEST_OFF_SLOT 0
#define SB_CRC_REQUEST_OFF_RESERVED 1
#define SB_CRC_REQUEST_OFF_LENGTH 4

/* CrcReply: The node's own CRC-32 of slot data, read from its EEPROM. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t status; /* Status. */
  uint8_t reserved[3]; /* Zero. */
  uint32_t crc; /* CRC-32 the node computed from the EEPROM. */
} sb_crc_reply;
SB_STATIC_ASSERT(sizeof(sb_crc_reply) == 8, "sb_crc_reply layout");
#endif
#define SB_CRC_REPLY_SIZE 8
#define SB_CRC_REPLY_OFF_STATUS 0
#define SB_CRC_REPLY_OFF_RESERVED 1
#define SB_CRC_REPLY_OFF_CRC 4

/* ReadRequest: Read raw EEPROM bytes. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint32_t addr; /* EEPROM address. */
  uint8_t length; /* Bytes to read, 1 .. maxChunk (else BAD_RANGE). The node does not check the chip size or a 24LC1025's 64 KiB block: a read past either wraps, so the host stays inside them. */
} sb_read_request;
SB_STATIC_ASSERT(sizeof(sb_read_request) == 5, "sb_read_request layout");
#endif
#define SB_READ_REQUEST_SIZE 5
#define SB_READ_REQUEST_OFF_ADDR 0
#define SB_READ_REQUEST_OFF_LENGTH 4

/* ReadReply: Raw EEPROM bytes. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t status; /* Status. */
  uint8_t data[]; /* The bytes read. */
} sb_read_reply;
SB_STATIC_ASSERT(sizeof(sb_read_reply) == 1, "sb_read_reply layout");
#endif
#define SB_READ_REPLY_SIZE 1
#define SB_READ_REPLY_OFF_STATUS 0
#define SB_READ_REPLY_OFF_DATA 1

/* RecordRequest: Write the next version of a record: the node writes it to the copy that does not hold the newest one, with the next seq and its CRC (protocol/STATES.md). */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  uint8_t which; /* 0: the boot record; 1 + i: slot i (i < FS_MAX_SLOTS). */
  uint8_t record[]; /* The record without its CRC field (BootRecord: 12 bytes, SlotRecord: 52; the node computes the CRC, and a slot record's frame stays within a 61-byte radio packet). Its seq field holds the seq of the newest record the host read (0 when it read none): the node refuses with STALE when its newest differs. */
} sb_record_request;
SB_STATIC_ASSERT(sizeof(sb_record_request) == 1, "sb_record_request layout");
#endif
#define SB_RECORD_REQUEST_SIZE 1
#define SB_RECORD_REQUEST_OFF_WHICH 0
#define SB_RECORD_REQUEST_OFF_RECORD 1

/* SuperblockRequest: Write the superblock at EEPROM address 0 (the host plans it: protocol/ts/fs.ts planLayout; formatting is the host writing an invalid superblock, then the records, then this one). The node then reads its layout again: slotCount is 0 unless the superblock is valid, for this chip, with 1..FS_MAX_SLOTS slots. */
#ifndef __ASSEMBLER__
typedef struct __attribute__((packed)) {
  sb_superblock superblock; /* The 28 bytes to write at address 0. */
} sb_superblock_request;
SB_STATIC_ASSERT(sizeof(sb_superblock_request) == 28, "sb_superblock_request layout");
#endif
#define SB_SUPERBLOCK_REQUEST_SIZE 28
#define SB_SUPERBLOCK_REQUEST_OFF_SUPERBLOCK 0

#endif /* STAGEBOOT_PROTOCOL_H */
