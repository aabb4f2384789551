// The one definition of stageboot's wire format, image format and EEPROM layout.
//
// Everything here is data. `protocol/gen/generate.ts` turns it into
//   protocol/generated/stageboot_protocol.h  (C: bootloader and sketch-lib include it)
//   protocol/generated/protocol.ts           (TypeScript: the host)
// and a copy of the header into sketch-lib/src/ so the Arduino library is self-contained.
// Edit this file, run `make gen`, commit both. CI fails when a generated file is stale.
//
// All multi-byte integers are little-endian (the AVR's own order, so C can read records
// straight into structs). Field offsets are fixed; structs are packed.

export type FieldType = 'u8' | 'u16' | 'u32' | `u8[${number}]` | 'bytes';

export interface Field {
  name: string;
  type: FieldType;
  /** A struct name from `structs`, embedded in place (type is then ignored). */
  struct?: string;
  doc: string;
}

export interface Struct {
  name: string; // PascalCase; C name is sb_<snake_case>
  doc: string;
  fields: Field[];
}

export interface Constant {
  name: string; // C name (SB_ prefix added); TS keeps it as written
  value: number;
  doc: string;
}

export interface Enum {
  name: string; // PascalCase; C constants are SB_<PREFIX>_<VALUE>
  prefix: string;
  doc: string;
  values: Record<string, { value: number; doc: string }>;
}

export interface Message {
  name: string;
  code: number; // request type; the reply is code | REPLY_BIT
  doc: string;
  request: string | null; // struct name of the request payload (null: empty)
  reply: string | null; // struct name of the reply payload (null: status only)
}

export const constants: Constant[] = [
  { name: 'PROTOCOL_VERSION', value: 2, doc: 'Version of the frame protocol; INFO reports it.' },
  // Image format
  { name: 'IMAGE_MAGIC', value: 0x4d494253, doc: 'Image header magic: the bytes "SBIM" in file order.' },
  { name: 'IMAGE_FORMAT', value: 1, doc: 'Image header format version.' },
  // EEPROM layout
  { name: 'FS_MAGIC', value: 0x53464253, doc: 'Superblock magic: the bytes "SBFS" in EEPROM order.' },
  { name: 'FS_LAYOUT', value: 1, doc: 'EEPROM layout version.' },
  { name: 'FS_REC_PITCH', value: 128, doc: 'Default distance between metadata records: one record per page on chips with pages up to 128 B, so a torn page write can only hit one copy.' },
  { name: 'FS_BOOT_REC_A', value: 1, doc: 'Boot record copy A sits at 1 x pitch.' },
  { name: 'FS_BOOT_REC_B', value: 2, doc: 'Boot record copy B sits at 2 x pitch.' },
  { name: 'FS_SLOT_REC_BASE', value: 3, doc: 'Slot i record copies sit at (3 + 2i) and (4 + 2i) x pitch.' },
  { name: 'FS_MAX_SLOTS', value: 8, doc: 'Most slots a layout may have.' },
  { name: 'NO_SLOT', value: 0xff, doc: 'Slot number meaning "none".' },
  // Frames
  { name: 'FRAME_SOF', value: 0x7e, doc: 'First byte of every frame.' },
  { name: 'FRAME_HEADER', value: 4, doc: 'SOF, length, type, sequence.' },
  { name: 'FRAME_OVERHEAD', value: 6, doc: 'Header plus the CRC-16 trailer.' },
  { name: 'FRAME_MAX_PAYLOAD', value: 250, doc: 'Largest payload a frame may carry.' },
  { name: 'REPLY_BIT', value: 0x80, doc: 'A reply carries the request type with this bit set.' },
  { name: 'CHUNK_MIN', value: 16, doc: 'Smallest chunk a node must accept.' },
  { name: 'ACK_WINDOW', value: 16, doc: 'Chunks past the cumulative ack covered by the selective-ack bitmap.' },
  // Bootloader services
  { name: 'BL_SECTION_BYTES', value: 1024, doc: 'Boot section the stageboot bootloader occupies on the ATmega328P (BOOTSZ = 512 words): applications end below it.' },
  { name: 'BL_VERSION_ADDR', value: 0x7ffe, doc: 'Flash word holding the bootloader version (major<<8 | minor), as Optiboot does.' },
  { name: 'TRIAL_WDT_SECONDS', value: 8, doc: 'Watchdog period armed for a trial boot: the app must confirm (or feed the dog) within it.' },
  { name: 'INSTALL_MAX_ATTEMPTS', value: 3, doc: 'Verify failures after which the bootloader gives up on an install.' },
];

export const enums: Enum[] = [
  {
    name: 'ImageFlag', prefix: 'IMGF', doc: 'Bits of ImageHeader.flags.',
    values: {
      CONFIRMS: { value: 0x0001, doc: 'The image links the stageboot runtime and confirms a trial boot.' },
    },
  },
  {
    name: 'SlotState', prefix: 'SLOT', doc: 'What a slot holds. Erased EEPROM (0xFF) reads as no valid record, i.e. EMPTY.',
    values: {
      EMPTY: { value: 0x01, doc: 'Holds nothing.' },
      RECEIVING: { value: 0x02, doc: 'A transfer is under way; `progress` bytes of the payload are written in order.' },
      STAGED: { value: 0x03, doc: 'Complete; the node checked the payload CRC-32 from the EEPROM.' },
      BAD: { value: 0x04, doc: 'Failed a check (CRC, target, size); never installed.' },
    },
  },
  {
    name: 'BootState', prefix: 'BOOT', doc: 'The bootloader\'s state machine (protocol/STATES.md).',
    values: {
      IDLE: { value: 0x01, doc: 'Nothing to do; `current` holds the slot whose image is in flash (or NO_SLOT).' },
      PENDING: { value: 0x02, doc: 'Install `slot` at the next reset (mode in `flags`).' },
      INSTALLING: { value: 0x03, doc: 'The copy into flash has begun: never run the app; finish the copy.' },
      TRIAL: { value: 0x04, doc: 'A trial image runs unconfirmed; a reset before confirm reverts to `backup`.' },
    },
  },
  {
    name: 'BootFlag', prefix: 'BOOTF', doc: 'Bits of BootRecord.flags.',
    values: {
      TRIAL: { value: 0x01, doc: 'Install for trial: arm the watchdog and revert unless confirmed.' },
    },
  },
  {
    name: 'BootResult', prefix: 'RESULT', doc: 'Outcome of the last activation, kept in BootRecord.result.',
    values: {
      NONE: { value: 0x00, doc: 'No activation yet.' },
      INSTALLED: { value: 0x01, doc: 'The image was installed (while INSTALLING: what success will mean).' },
      CONFIRMED: { value: 0x02, doc: 'A trial image was confirmed by the application.' },
      REVERTED: { value: 0x03, doc: 'A trial was not confirmed; the backup image was reinstalled.' },
      BAD_HEADER: { value: 0x10, doc: 'The slot has no valid record or header.' },
      WRONG_TARGET: { value: 0x11, doc: 'The image was built for another chip.' },
      TOO_BIG: { value: 0x12, doc: 'The image does not fit below the bootloader.' },
      BAD_CRC: { value: 0x13, doc: 'The payload CRC-32 in the EEPROM does not match the header.' },
      VERIFY_FAILED: { value: 0x14, doc: 'Flash read back differs from the image after INSTALL_MAX_ATTEMPTS tries.' },
      NOT_STAGED: { value: 0x15, doc: 'The slot is not in the STAGED state.' },
    },
  },
  {
    name: 'ActivateMode', prefix: 'ACT', doc: 'How ACTIVATE installs a staged image.',
    values: {
      NOW: { value: 0x00, doc: 'Mark pending and reboot into the bootloader now.' },
      NEXT_RESET: { value: 0x01, doc: 'Mark pending; install at the next reset, whenever it comes.' },
      TRIAL: { value: 0x02, doc: 'Save the running image as backup, install for trial and reboot now.' },
    },
  },
  {
    name: 'Status', prefix: 'ST', doc: 'First byte of every reply.',
    values: {
      OK: { value: 0x00, doc: 'Done.' },
      BAD_FRAME: { value: 0x01, doc: 'The request payload has the wrong length or fields.' },
      UNKNOWN_TYPE: { value: 0x02, doc: 'The node does not know this request type.' },
      BAD_SLOT: { value: 0x03, doc: 'No such slot.' },
      WRONG_TARGET: { value: 0x04, doc: 'The image was built for another chip.' },
      TOO_BIG: { value: 0x05, doc: 'The image does not fit the slot or the flash below the bootloader.' },
      BAD_HEADER: { value: 0x06, doc: 'The image header is malformed or its CRC is wrong.' },
      BUSY: { value: 0x07, doc: 'The node cannot take the request now; retry.' },
      NOT_RECEIVING: { value: 0x08, doc: 'DATA or END without a transfer under way in that slot.' },
      BAD_CRC: { value: 0x09, doc: 'The payload CRC-32 computed from the EEPROM does not match the header.' },
      NOT_STAGED: { value: 0x0a, doc: 'ACTIVATE of a slot that is not STAGED.' },
      NO_BACKUP_ROOM: { value: 0x0b, doc: 'A trial needs a free slot to save the running image in; there is none.' },
      SLOT_IN_USE: { value: 0x0c, doc: 'The slot is pending, installing, or the backup of a running trial.' },
      EEPROM_ERROR: { value: 0x0d, doc: 'The EEPROM did not answer on I2C.' },
      NOT_TRIAL: { value: 0x0e, doc: 'CONFIRM while no trial is running.' },
      BAD_RANGE: { value: 0x0f, doc: 'READ outside the EEPROM, or a chunk outside the image.' },
      NOT_FORMATTED: { value: 0x10, doc: 'The EEPROM holds no valid superblock.' },
      STALE: { value: 0x11, doc: 'RECORD: the record changed since the host read it (its seq is not the one the request names); read it again.' },
    },
  },
  {
    name: 'SlotRole', prefix: 'ROLE', doc: 'Roles of a slot, which the host derives from the boot record (the `slots` command shows them).',
    values: {
      CURRENT: { value: 0x01, doc: 'Its image is the one in flash.' },
      PENDING: { value: 0x02, doc: 'It will be installed at the next reset.' },
      BACKUP: { value: 0x04, doc: 'It holds the image a running trial reverts to.' },
    },
  },
];

export const structs: Struct[] = [
  {
    name: 'ImageHeader', doc: 'Starts every image: in a file, in a BEGIN request and in a slot record.',
    fields: [
      { name: 'magic', type: 'u32', doc: 'IMAGE_MAGIC.' },
      { name: 'format', type: 'u8', doc: 'IMAGE_FORMAT.' },
      { name: 'headerSize', type: 'u8', doc: 'Size of this header in bytes; lets later formats grow it.' },
      { name: 'flags', type: 'u16', doc: 'ImageFlag bits.' },
      { name: 'signature', type: 'u8[3]', doc: 'Target device signature, e.g. 1E 95 0F for the ATmega328P.' },
      { name: 'reserved', type: 'u8', doc: 'Zero.' },
      { name: 'loadAddr', type: 'u32', doc: 'Flash address of the first payload byte (0 for an application).' },
      { name: 'length', type: 'u32', doc: 'Payload length in bytes.' },
      { name: 'payloadCrc', type: 'u32', doc: 'CRC-32 (IEEE) of the payload.' },
      { name: 'appVersion', type: 'u32', doc: 'Application version chosen by the user (e.g. major<<16 | minor<<8 | patch).' },
      { name: 'buildId', type: 'u32', doc: 'Identifies the build; the host derives it from the payload unless given.' },
      { name: 'headerCrc', type: 'u32', doc: 'CRC-32 of all bytes before this field.' },
    ],
  },
  {
    name: 'Superblock', doc: 'EEPROM address 0: describes the chip and the slots. Written once, when formatting.',
    fields: [
      { name: 'magic', type: 'u32', doc: 'FS_MAGIC.' },
      { name: 'layout', type: 'u8', doc: 'FS_LAYOUT.' },
      { name: 'slotCount', type: 'u8', doc: 'Number of slots.' },
      { name: 'pageSize', type: 'u16', doc: 'EEPROM page size in bytes.' },
      { name: 'recPitch', type: 'u16', doc: 'Distance between metadata records (>= page size, power of two).' },
      { name: 'reserved', type: 'u16', doc: 'Zero.' },
      { name: 'chipSize', type: 'u32', doc: 'EEPROM size in bytes.' },
      { name: 'dataStart', type: 'u32', doc: 'Address of slot 0\'s data area (page aligned).' },
      { name: 'slotSize', type: 'u32', doc: 'Bytes per slot data area (multiple of the page size).' },
      { name: 'crc', type: 'u32', doc: 'CRC-32 of all bytes before this field.' },
    ],
  },
  {
    name: 'BootRecord', doc: 'Tells the bootloader what to do at reset. Two copies (FS_BOOT_REC_A/B); the valid one with the newer seq wins; a write goes to the other copy.',
    fields: [
      { name: 'seq', type: 'u16', doc: 'Sequence number; newer means (int16)(a - b) > 0.' },
      { name: 'state', type: 'u8', doc: 'BootState.' },
      { name: 'flags', type: 'u8', doc: 'BootFlag bits.' },
      { name: 'slot', type: 'u8', doc: 'Slot to install (PENDING, INSTALLING) or installed (TRIAL).' },
      { name: 'current', type: 'u8', doc: 'Slot whose image is in flash, or NO_SLOT (e.g. after a serial upload).' },
      { name: 'backup', type: 'u8', doc: 'Slot holding the image to revert to, or NO_SLOT.' },
      { name: 'result', type: 'u8', doc: 'BootResult of the last activation.' },
      { name: 'attempts', type: 'u8', doc: 'Verify failures of the install under way.' },
      { name: 'reserved', type: 'u8[3]', doc: 'Zero.' },
      { name: 'crc', type: 'u32', doc: 'CRC-32 of all bytes before this field.' },
    ],
  },
  {
    name: 'SlotRecord', doc: 'Describes one slot. Two copies per slot; same rule as the boot record.',
    fields: [
      { name: 'seq', type: 'u16', doc: 'Sequence number.' },
      { name: 'state', type: 'u8', doc: 'SlotState.' },
      { name: 'reserved', type: 'u8', doc: 'Zero.' },
      { name: 'dataAddr', type: 'u32', doc: 'EEPROM address of the slot\'s data area (copied from the superblock so the bootloader need not compute it).' },
      { name: 'capacity', type: 'u32', doc: 'Size of the data area.' },
      { name: 'progress', type: 'u32', doc: 'Payload bytes written in order (RECEIVING); equals header.length when STAGED.' },
      { name: 'header', type: 'bytes', struct: 'ImageHeader', doc: 'The image this slot holds or receives.' },
      { name: 'crc', type: 'u32', doc: 'CRC-32 of all bytes before this field.' },
    ],
  },
  // ---- frame payloads ----
  {
    name: 'StatusReply', doc: 'Reply carrying only a status.',
    fields: [{ name: 'status', type: 'u8', doc: 'Status.' }],
  },
  {
    name: 'InfoReply', doc: 'Who the node is: the first exchange of every session. What the EEPROM holds the host reads itself (READ: the superblock, the records).',
    fields: [
      { name: 'status', type: 'u8', doc: 'Status.' },
      { name: 'protocol', type: 'u8', doc: 'PROTOCOL_VERSION.' },
      { name: 'signature', type: 'u8[3]', doc: 'Device signature.' },
      { name: 'window', type: 'u8', doc: 'DATA frames the host may have unacknowledged.' },
      { name: 'blVersion', type: 'u16', doc: 'Bootloader version word at BL_VERSION_ADDR (0xFFFF: none).' },
      { name: 'maxChunk', type: 'u16', doc: 'Largest chunk the node accepts.' },
      { name: 'pageSize', type: 'u8', doc: 'EEPROM page size the node is built for.' },
      { name: 'slotCount', type: 'u8', doc: 'Slots in the layout the node uses (0: no valid superblock for this chip; the host formats).' },
      { name: 'chipSize', type: 'u32', doc: 'EEPROM size the node is built for.' },
      { name: 'appVersion', type: 'u32', doc: 'Running application\'s version as compiled in (the host shows the header\'s when a slot holds this very image).' },
      { name: 'appCrc', type: 'u32', doc: 'CRC-32 of the running application\'s appLen bytes of flash.' },
      { name: 'appLen', type: 'u32', doc: 'Length of the running application (its .text + .data), the bytes BACKUP copies.' },
    ],
  },
  {
    name: 'SlotQuery', doc: 'A request naming a slot (BACKUP).',
    fields: [{ name: 'slot', type: 'u8', doc: 'Slot number.' }],
  },

  {
    name: 'BeginRequest', doc: 'Open a transfer into a slot whose record the host has made RECEIVING (with RECORD). The node writes nothing yet.',
    fields: [
      { name: 'slot', type: 'u8', doc: 'Slot number.' },
      { name: 'reserved', type: 'u8', doc: 'Zero.' },
      { name: 'chunkSize', type: 'u16', doc: 'Payload bytes per DATA chunk: a power of two from CHUNK_MIN to maxChunk that divides the EEPROM page size, so no chunk straddles a page (chunk n is at offset n x chunkSize). Others are refused with BAD_FRAME.' },
      { name: 'length', type: 'u32', doc: 'Payload length (1 .. the slot size, else TOO_BIG).' },
      { name: 'startChunk', type: 'u16', doc: 'First chunk the host will send (a resume: the slot record\'s progress / chunkSize); every chunk below it counts as written.' },
      { name: 'reserved2', type: 'u16', doc: 'Zero.' },
    ],
  },
  {
    name: 'DataRequest', doc: 'One chunk. Not answered one by one: the node sends ACK frames.',
    fields: [
      { name: 'chunk', type: 'u16', doc: 'Chunk index.' },
      { name: 'data', type: 'bytes', doc: 'chunkSize bytes (fewer for the last chunk).' },
    ],
  },
  {
    name: 'AckReply', doc: 'Cumulative and selective acknowledgement (type DATA | REPLY_BIT).',
    fields: [
      { name: 'status', type: 'u8', doc: 'OK, or why the node stopped accepting chunks.' },
      { name: 'reserved', type: 'u8', doc: 'Zero.' },
      { name: 'cumulative', type: 'u16', doc: 'Every chunk below this index is written.' },
      { name: 'selective', type: 'u16', doc: 'Bit i set: chunk cumulative + 1 + i is written too.' },
    ],
  },
  {
    name: 'CrcRequest', doc: 'CRC-32 of the first `length` bytes of a slot\'s data area, read from the EEPROM.',
    fields: [
      { name: 'slot', type: 'u8', doc: 'Slot number.' },
      { name: 'reserved', type: 'u8[3]', doc: 'Zero.' },
      { name: 'length', type: 'u32', doc: 'Bytes from the start of the data area (1 .. the slot size).' },
    ],
  },
  {
    name: 'CrcReply', doc: 'The node\'s own CRC-32 of slot data, read from its EEPROM.',
    fields: [
      { name: 'status', type: 'u8', doc: 'Status.' },
      { name: 'reserved', type: 'u8[3]', doc: 'Zero.' },
      { name: 'crc', type: 'u32', doc: 'CRC-32 the node computed from the EEPROM.' },
    ],
  },
  {
    name: 'ReadRequest', doc: 'Read raw EEPROM bytes.',
    fields: [
      { name: 'addr', type: 'u32', doc: 'EEPROM address.' },
      { name: 'length', type: 'u8', doc: 'Bytes to read, 1 .. maxChunk (else BAD_RANGE). The node does not check the chip size or a 24LC1025\'s 64 KiB block: a read past either wraps, so the host stays inside them.' },
    ],
  },
  {
    name: 'ReadReply', doc: 'Raw EEPROM bytes.',
    fields: [
      { name: 'status', type: 'u8', doc: 'Status.' },
      { name: 'data', type: 'bytes', doc: 'The bytes read.' },
    ],
  },
  {
    name: 'RecordRequest', doc: 'Write the next version of a record: the node writes it to the copy that does not hold the newest one, with the next seq and its CRC (protocol/STATES.md).',
    fields: [
      { name: 'which', type: 'u8', doc: '0: the boot record; 1 + i: slot i (i < FS_MAX_SLOTS).' },
      { name: 'record', type: 'bytes', doc: 'The record without its CRC field (BootRecord: 12 bytes, SlotRecord: 52; the node computes the CRC, and a slot record\'s frame stays within a 61-byte radio packet). Its seq field holds the seq of the newest record the host read (0 when it read none): the node refuses with STALE when its newest differs.' },
    ],
  },
  {
    name: 'SuperblockRequest', doc: 'Write the superblock at EEPROM address 0 (the host plans it: protocol/ts/fs.ts planLayout; formatting is the host writing an invalid superblock, then the records, then this one). The node then reads its layout again: slotCount is 0 unless the superblock is valid, for this chip, with 1..FS_MAX_SLOTS slots.',
    fields: [{ name: 'superblock', type: 'bytes', struct: 'Superblock', doc: 'The 28 bytes to write at address 0.' }],
  },

];


export const messages: Message[] = [
  { name: 'INFO', code: 0x01, doc: 'Who are you? Starts every session.', request: null, reply: 'InfoReply' },
  { name: 'BEGIN', code: 0x02, doc: 'Open a transfer into a slot.', request: 'BeginRequest', reply: 'StatusReply' },
  { name: 'DATA', code: 0x03, doc: 'One chunk; answered by ACK frames.', request: 'DataRequest', reply: 'AckReply' },
  { name: 'CRC', code: 0x04, doc: 'CRC-32 of slot data from the EEPROM; ends a transfer into that slot.', request: 'CrcRequest', reply: 'CrcReply' },
  { name: 'CONFIRM', code: 0x05, doc: 'Confirm the running trial image (and stop the watchdog).', request: null, reply: 'StatusReply' },
  { name: 'READ', code: 0x06, doc: 'Read raw EEPROM bytes (the superblock, record copies, slot data).', request: 'ReadRequest', reply: 'ReadReply' },
  { name: 'REBOOT', code: 0x07, doc: 'Reset through the watchdog after replying.', request: null, reply: 'StatusReply' },
  { name: 'RECORD', code: 0x08, doc: 'Write the next version of the boot record or a slot record.', request: 'RecordRequest', reply: 'StatusReply' },
  { name: 'SUPERBLOCK', code: 0x09, doc: 'Write the superblock; the node takes its layout.', request: 'SuperblockRequest', reply: 'StatusReply' },
  { name: 'BACKUP', code: 0x0a, doc: 'Copy the running application (appLen bytes of flash) into a slot\'s data area.', request: 'SlotQuery', reply: 'StatusReply' },
];

export const crcs = {
  crc32: { doc: 'CRC-32/ISO-HDLC (zlib): reflected poly 0xEDB88320, init 0xFFFFFFFF, xorout 0xFFFFFFFF. Images, records.' },
  crc16: { doc: 'CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected. Frames.' },
};
