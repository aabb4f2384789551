// Generated from protocol/spec.ts by protocol/gen/generate.ts. Do not edit: run `make gen`.

/** Version of the frame protocol; INFO reports it. */
export const PROTOCOL_VERSION = 2;
/** Image header magic: the bytes "SBIM" in file order. */
export const IMAGE_MAGIC = 0x4D494253;
/** Image header format version. */
export const IMAGE_FORMAT = 1;
/** Superblock magic: the bytes "SBFS" in EEPROM order. */
export const FS_MAGIC = 0x53464253;
/** EEPROM layout version. */
export const FS_LAYOUT = 1;
/** Default distance between metadata records: one record per page on chips with pages up to 128 B, so a torn page write can only hit one copy. */
export const FS_REC_PITCH = 0x80;
/** Boot record copy A sits at 1 x pitch. */
export const FS_BOOT_REC_A = 1;
/** Boot record copy B sits at 2 x pitch. */
export const FS_BOOT_REC_B = 2;
/** Slot i record copies sit at (3 + 2i) and (4 + 2i) x pitch. */
export const FS_SLOT_REC_BASE = 3;
/** Most slots a layout may have. */
export const FS_MAX_SLOTS = 8;
/** Slot number meaning "none". */
export const NO_SLOT = 0xFF;
/** First byte of every frame. */
export const FRAME_SOF = 0x7E;
/** SOF, length, type, sequence. */
export const FRAME_HEADER = 4;
/** Header plus the CRC-16 trailer. */
export const FRAME_OVERHEAD = 6;
/** Largest payload a frame may carry. */
export const FRAME_MAX_PAYLOAD = 0xFA;
/** A reply carries the request type with this bit set. */
export const REPLY_BIT = 0x80;
/** Smallest chunk a node must accept. */
export const CHUNK_MIN = 0x10;
/** Chunks past the cumulative ack covered by the selective-ack bitmap. */
export const ACK_WINDOW = 0x10;
/** Boot section the stageboot bootloader occupies on the ATmega328P (BOOTSZ = 512 words): applications end below it. */
export const BL_SECTION_BYTES = 0x400;
/** Flash word holding the bootloader version (major<<8 | minor), as Optiboot does. */
export const BL_VERSION_ADDR = 0x7FFE;
/** Watchdog period armed for a trial boot: the app must confirm (or feed the dog) within it. */
export const TRIAL_WDT_SECONDS = 8;
/** Verify failures after which the bootloader gives up on an install. */
export const INSTALL_MAX_ATTEMPTS = 3;

/** Bits of ImageHeader.flags. */
export const ImageFlag = {
  /** The image links the stageboot runtime and confirms a trial boot. */
  CONFIRMS: 0x01,
} as const;
export type ImageFlag = (typeof ImageFlag)[keyof typeof ImageFlag];

/** What a slot holds. Erased EEPROM (0xFF) reads as no valid record, i.e. EMPTY. */
export const SlotState = {
  /** Holds nothing. */
  EMPTY: 0x01,
  /** A transfer is under way; `progress` bytes of the payload are written in order. */
  RECEIVING: 0x02,
  /** Complete; the node checked the payload CRC-32 from the EEPROM. */
  STAGED: 0x03,
  /** Failed a check (CRC, target, size); never installed. */
  BAD: 0x04,
} as const;
export type SlotState = (typeof SlotState)[keyof typeof SlotState];

/** The bootloader's state machine (protocol/STATES.md). */
export const BootState = {
  /** Nothing to do; `current` holds the slot whose image is in flash (or NO_SLOT). */
  IDLE: 0x01,
  /** Install `slot` at the next reset (mode in `flags`). */
  PENDING: 0x02,
  /** The copy into flash has begun: never run the app; finish the copy. */
  INSTALLING: 0x03,
  /** A trial image runs unconfirmed; a reset before confirm reverts to `backup`. */
  TRIAL: 0x04,
} as const;
export type BootState = (typeof BootState)[keyof typeof BootState];

/** Bits of BootRecord.flags. */
export const BootFlag = {
  /** Install for trial: arm the watchdog and revert unless confirmed. */
  TRIAL: 0x01,
} as const;
export type BootFlag = (typeof BootFlag)[keyof typeof BootFlag];

/** Outcome of the last activation, kept in BootRecord.result. */
export const BootResult = {
  /** No activation yet. */
  NONE: 0x00,
  /** The image was installed (while INSTALLING: what success will mean). */
  INSTALLED: 0x01,
  /** A trial image was confirmed by the application. */
  CONFIRMED: 0x02,
  /** A trial was not confirmed; the backup image was reinstalled. */
  REVERTED: 0x03,
  /** The slot has no valid record or header. */
  BAD_HEADER: 0x10,
  /** The image was built for another chip. */
  WRONG_TARGET: 0x11,
  /** The image does not fit below the bootloader. */
  TOO_BIG: 0x12,
  /** The payload CRC-32 in the EEPROM does not match the header. */
  BAD_CRC: 0x13,
  /** Flash read back differs from the image after INSTALL_MAX_ATTEMPTS tries. */
  VERIFY_FAILED: 0x14,
  /** The slot is not in the STAGED state. */
  NOT_STAGED: 0x15,
} as const;
export type BootResult = (typeof BootResult)[keyof typeof BootResult];

/** How ACTIVATE installs a staged image. */
export const ActivateMode = {
  /** Mark pending and reboot into the bootloader now. */
  NOW: 0x00,
  /** Mark pending; install at the next reset, whenever it comes. */
  NEXT_RESET: 0x01,
  /** Save the running image as backup, install for trial and reboot now. */
  TRIAL: 0x02,
} as const;
export type ActivateMode = (typeof ActivateMode)[keyof typeof ActivateMode];

/** First byte of every reply. */
export const Status = {
  /** Done. */
  OK: 0x00,
  /** The request payload has the wrong length or fields. */
  BAD_FRAME: 0x01,
  /** The node does not know this request type. */
  UNKNOWN_TYPE: 0x02,
  /** No such slot. */
  BAD_SLOT: 0x03,
  /** The image was built for another chip. */
  WRONG_TARGET: 0x04,
  /** The image does not fit the slot or the flash below the bootloader. */
  TOO_BIG: 0x05,
  /** The image header is malformed or its CRC is wrong. */
  BAD_HEADER: 0x06,
  /** The node cannot take the request now; retry. */
  BUSY: 0x07,
  /** DATA or END without a transfer under way in that slot. */
  NOT_RECEIVING: 0x08,
  /** The payload CRC-32 computed from the EEPROM does not match the header. */
  BAD_CRC: 0x09,
  /** ACTIVATE of a slot that is not STAGED. */
  NOT_STAGED: 0x0A,
  /** A trial needs a free slot to save the running image in; there is none. */
  NO_BACKUP_ROOM: 0x0B,
  /** The slot is pending, installing, or the backup of a running trial. */
  SLOT_IN_USE: 0x0C,
  /** The EEPROM did not answer on I2C. */
  EEPROM_ERROR: 0x0D,
  /** CONFIRM while no trial is running. */
  NOT_TRIAL: 0x0E,
  /** READ outside the EEPROM, or a chunk outside the image. */
  BAD_RANGE: 0x0F,
  /** The EEPROM holds no valid superblock. */
  NOT_FORMATTED: 0x10,
  /** RECORD: the record changed since the host read it (its seq is not the one the request names); read it again. */
  STALE: 0x11,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

/** Roles of a slot, which the host derives from the boot record (the `slots` command shows them). */
export const SlotRole = {
  /** Its image is the one in flash. */
  CURRENT: 0x01,
  /** It will be installed at the next reset. */
  PENDING: 0x02,
  /** It holds the image a running trial reverts to. */
  BACKUP: 0x04,
} as const;
export type SlotRole = (typeof SlotRole)[keyof typeof SlotRole];

/** Message types; a reply is the request type | REPLY_BIT. */
export const Msg = {
  /** Who are you? Starts every session. */
  INFO: 0x01,
  /** Open a transfer into a slot. */
  BEGIN: 0x02,
  /** One chunk; answered by ACK frames. */
  DATA: 0x03,
  /** CRC-32 of slot data from the EEPROM; ends a transfer into that slot. */
  CRC: 0x04,
  /** Confirm the running trial image (and stop the watchdog). */
  CONFIRM: 0x05,
  /** Read raw EEPROM bytes (the superblock, record copies, slot data). */
  READ: 0x06,
  /** Reset through the watchdog after replying. */
  REBOOT: 0x07,
  /** Write the next version of the boot record or a slot record. */
  RECORD: 0x08,
  /** Write the superblock; the node takes its layout. */
  SUPERBLOCK: 0x09,
  /** Copy the running application (appLen bytes of flash) into a slot's data area. */
  BACKUP: 0x0A,
} as const;
export type Msg = (typeof Msg)[keyof typeof Msg];

/** Request and reply payload struct of each message (null: empty payload). */
export const messagePayloads = {
  INFO: { request: null, reply: "InfoReply" },
  BEGIN: { request: "BeginRequest", reply: "StatusReply" },
  DATA: { request: "DataRequest", reply: "AckReply" },
  CRC: { request: "CrcRequest", reply: "CrcReply" },
  CONFIRM: { request: null, reply: "StatusReply" },
  READ: { request: "ReadRequest", reply: "ReadReply" },
  REBOOT: { request: null, reply: "StatusReply" },
  RECORD: { request: "RecordRequest", reply: "StatusReply" },
  SUPERBLOCK: { request: "SuperblockRequest", reply: "StatusReply" },
  BACKUP: { request: "SlotQuery", reply: "StatusReply" },
} as const;

export type FieldKind = "u8" | "u16" | "u32" | "u8[]" | "bytes" | "struct";
export interface FieldLayout { name: string; kind: FieldKind; offset: number; size: number; struct?: StructName }
export interface StructLayout { size: number; variable: boolean; fields: readonly FieldLayout[] }

export type StructName = "ImageHeader" | "Superblock" | "BootRecord" | "SlotRecord" | "StatusReply" | "InfoReply" | "SlotQuery" | "BeginRequest" | "DataRequest" | "AckReply" | "CrcRequest" | "CrcReply" | "ReadRequest" | "ReadReply" | "RecordRequest" | "SuperblockRequest";

/** Starts every image: in a file, in a BEGIN request and in a slot record. */
export interface ImageHeader {
  /** IMAGE_MAGIC. */
  magic: number;
  /** IMAGE_FORMAT. */
  format: number;
  /** Size of this header in bytes; lets later formats grow it. */
  headerSize: number;
  /** ImageFlag bits. */
  flags: number;
  /** Target device signature, e.g. 1E 95 0F for the ATmega328P. */
  signature: Uint8Array;
  /** Zero. */
  reserved: number;
  /** Flash address of the first payload byte (0 for an application). */
  loadAddr: number;
  /** Payload length in bytes. */
  length: number;
  /** CRC-32 (IEEE) of the payload. */
  payloadCrc: number;
  /** Application version chosen by the user (e.g. major<<16 | minor<<8 | patch). */
  appVersion: number;
  /** Identifies the build; the host derives it from the payload unless given. */
  buildId: number;
  /** CRC-32 of all bytes before this field. */
  headerCrc: number;
}

/** EEPROM address 0: describes the chip and the slots. Written once, when formatting. */
export interface Superblock {
  /** FS_MAGIC. */
  magic: number;
  /** FS_LAYOUT. */
  layout: number;
  /** Number of slots. */
  slotCount: number;
  /** EEPROM page size in bytes. */
  pageSize: number;
  /** Distance between metadata records (>= page size, power of two). */
  recPitch: number;
  /** Zero. */
  reserved: number;
  /** EEPROM size in bytes. */
  chipSize: number;
  /** Address of slot 0's data area (page aligned). */
  dataStart: number;
  /** Bytes per slot data area (multiple of the page size). */
  slotSize: number;
  /** CRC-32 of all bytes before this field. */
  crc: number;
}

/** Tells the bootloader what to do at reset. Two copies (FS_BOOT_REC_A/B); the valid one with the newer seq wins; a write goes to the other copy. */
export interface BootRecord {
  /** Sequence number; newer means (int16)(a - b) > 0. */
  seq: number;
  /** BootState. */
  state: number;
  /** BootFlag bits. */
  flags: number;
  /** Slot to install (PENDING, INSTALLING) or installed (TRIAL). */
  slot: number;
  /** Slot whose image is in flash, or NO_SLOT (e.g. after a serial upload). */
  current: number;
  /** Slot holding the image to revert to, or NO_SLOT. */
  backup: number;
  /** BootResult of the last activation. */
  result: number;
  /** Verify failures of the install under way. */
  attempts: number;
  /** Zero. */
  reserved: Uint8Array;
  /** CRC-32 of all bytes before this field. */
  crc: number;
}

/** Describes one slot. Two copies per slot; same rule as the boot record. */
export interface SlotRecord {
  /** Sequence number. */
  seq: number;
  /** SlotState. */
  state: number;
  /** Zero. */
  reserved: number;
  /** EEPROM address of the slot's data area (copied from the superblock so the bootloader need not compute it). */
  dataAddr: number;
  /** Size of the data area. */
  capacity: number;
  /** Payload bytes written in order (RECEIVING); equals header.length when STAGED. */
  progress: number;
  /** The image this slot holds or receives. */
  header: ImageHeader;
  /** CRC-32 of all bytes before this field. */
  crc: number;
}

/** Reply carrying only a status. */
export interface StatusReply {
  /** Status. */
  status: number;
}

/** Who the node is: the first exchange of every session. What the EEPROM holds the host reads itself (READ: the superblock, the records). */
export interface InfoReply {
  /** Status. */
  status: number;
  /** PROTOCOL_VERSION. */
  protocol: number;
  /** Device signature. */
  signature: Uint8Array;
  /** DATA frames the host may have unacknowledged. */
  window: number;
  /** Bootloader version word at BL_VERSION_ADDR (0xFFFF: none). */
  blVersion: number;
  /** Largest chunk the node accepts. */
  maxChunk: number;
  /** EEPROM page size the node is built for. */
  pageSize: number;
  /** Slots in the layout the node uses (0: no valid superblock for this chip; the host formats). */
  slotCount: number;
  /** EEPROM size the node is built for. */
  chipSize: number;
  /** Running application's version as compiled in (the host shows the header's when a slot holds this very image). */
  appVersion: number;
  /** CRC-32 of the running application's appLen bytes of flash. */
  appCrc: number;
  /** Length of the running application (its .text + .data), the bytes BACKUP copies. */
  appLen: number;
}

/** A request naming a slot (BACKUP). */
export interface SlotQuery {
  /** Slot number. */
  slot: number;
}

/** Open a transfer into a slot whose record the host has made RECEIVING (with RECORD). The node writes nothing yet. */
export interface BeginRequest {
  /** Slot number. */
  slot: number;
  /** Zero. */
  reserved: number;
  /** Payload bytes per DATA chunk: a power of two from CHUNK_MIN to maxChunk that divides the EEPROM page size, so no chunk straddles a page (chunk n is at offset n x chunkSize). Others are refused with BAD_FRAME. */
  chunkSize: number;
  /** Payload length (1 .. the slot size, else TOO_BIG). */
  length: number;
  /** First chunk the host will send (a resume: the slot record's progress / chunkSize); every chunk below it counts as written. */
  startChunk: number;
  /** Zero. */
  reserved2: number;
}

/** One chunk. Not answered one by one: the node sends ACK frames. */
export interface DataRequest {
  /** Chunk index. */
  chunk: number;
  /** chunkSize bytes (fewer for the last chunk). */
  data: Uint8Array;
}

/** Cumulative and selective acknowledgement (type DATA | REPLY_BIT). */
export interface AckReply {
  /** OK, or why the node stopped accepting chunks. */
  status: number;
  /** Zero. */
  reserved: number;
  /** Every chunk below this index is written. */
  cumulative: number;
  /** Bit i set: chunk cumulative + 1 + i is written too. */
  selective: number;
}

/** CRC-32 of the first `length` bytes of a slot's data area, read from the EEPROM. */
export interface CrcRequest {
  /** Slot number. */
  slot: number;
  /** Zero. */
  reserved: Uint8Array;
  /** Bytes from the start of the data area (1 .. the slot size). */
  length: number;
}

/** The node's own CRC-32 of slot data, read from its EEPROM. */
export interface CrcReply {
  /** Status. */
  status: number;
  /** Zero. */
  reserved: Uint8Array;
  /** CRC-32 the node computed from the EEPROM. */
  crc: number;
}

/** Read raw EEPROM bytes. */
export interface ReadRequest {
  /** EEPROM address. */
  addr: number;
  /** Bytes to read, 1 .. maxChunk (else BAD_RANGE). The node does not check the chip size or a 24LC1025's 64 KiB block: a read past either wraps, so the host stays inside them. */
  length: number;
}

/** Raw EEPROM bytes. */
export interface ReadReply {
  /** Status. */
  status: number;
  /** The bytes read. */
  data: Uint8Array;
}

/** Write the next version of a record: the node writes it to the copy that does not hold the newest one, with the next seq and its CRC (protocol/STATES.md). */
export interface RecordRequest {
  /** 0: the boot record; 1 + i: slot i (i < FS_MAX_SLOTS). */
  which: number;
  /** The record without its CRC field (BootRecord: 12 bytes, SlotRecord: 52; the node computes the CRC, and a slot record's frame stays within a 61-byte radio packet). Its seq field holds the seq of the newest record the host read (0 when it read none): the node refuses with STALE when its newest differs. */
  record: Uint8Array;
}

/** Write the superblock at EEPROM address 0 (the host plans it: protocol/ts/fs.ts planLayout; formatting is the host writing an invalid superblock, then the records, then this one). The node then reads its layout again: slotCount is 0 unless the superblock is valid, for this chip, with 1..FS_MAX_SLOTS slots. */
export interface SuperblockRequest {
  /** The 28 bytes to write at address 0. */
  superblock: Superblock;
}

export interface StructTypes {
  ImageHeader: ImageHeader;
  Superblock: Superblock;
  BootRecord: BootRecord;
  SlotRecord: SlotRecord;
  StatusReply: StatusReply;
  InfoReply: InfoReply;
  SlotQuery: SlotQuery;
  BeginRequest: BeginRequest;
  DataRequest: DataRequest;
  AckReply: AckReply;
  CrcRequest: CrcRequest;
  CrcReply: CrcReply;
  ReadRequest: ReadRequest;
  ReadReply: ReadReply;
  RecordRequest: RecordRequest;
  SuperblockRequest: SuperblockRequest;
}

/** Byte layout of every struct: offsets and sizes. */
export const layouts: Record<StructName, StructLayout> = {
  ImageHeader: { size: 36, variable: false, fields: [
    { name: 'magic', kind: 'u32', offset: 0, size: 4 },
    { name: 'format', kind: 'u8', offset: 4, size: 1 },
    { name: 'headerSize', kind: 'u8', offset: 5, size: 1 },
    { name: 'flags', kind: 'u16', offset: 6, size: 2 },
    { name: 'signature', kind: 'u8[]', offset: 8, size: 3 },
    { name: 'reserved', kind: 'u8', offset: 11, size: 1 },
    { name: 'loadAddr', kind: 'u32', offset: 12, size: 4 },
    { name: 'length', kind: 'u32', offset: 16, size: 4 },
    { name: 'payloadCrc', kind: 'u32', offset: 20, size: 4 },
    { name: 'appVersion', kind: 'u32', offset: 24, size: 4 },
    { name: 'buildId', kind: 'u32', offset: 28, size: 4 },
    { name: 'headerCrc', kind: 'u32', offset: 32, size: 4 },
  ] },
  Superblock: { size: 28, variable: false, fields: [
    { name: 'magic', kind: 'u32', offset: 0, size: 4 },
    { name: 'layout', kind: 'u8', offset: 4, size: 1 },
    { name: 'slotCount', kind: 'u8', offset: 5, size: 1 },
    { name: 'pageSize', kind: 'u16', offset: 6, size: 2 },
    { name: 'recPitch', kind: 'u16', offset: 8, size: 2 },
    { name: 'reserved', kind: 'u16', offset: 10, size: 2 },
    { name: 'chipSize', kind: 'u32', offset: 12, size: 4 },
    { name: 'dataStart', kind: 'u32', offset: 16, size: 4 },
    { name: 'slotSize', kind: 'u32', offset: 20, size: 4 },
    { name: 'crc', kind: 'u32', offset: 24, size: 4 },
  ] },
  BootRecord: { size: 16, variable: false, fields: [
    { name: 'seq', kind: 'u16', offset: 0, size: 2 },
    { name: 'state', kind: 'u8', offset: 2, size: 1 },
    { name: 'flags', kind: 'u8', offset: 3, size: 1 },
    { name: 'slot', kind: 'u8', offset: 4, size: 1 },
    { name: 'current', kind: 'u8', offset: 5, size: 1 },
    { name: 'backup', kind: 'u8', offset: 6, size: 1 },
    { name: 'result', kind: 'u8', offset: 7, size: 1 },
    { name: 'attempts', kind: 'u8', offset: 8, size: 1 },
    { name: 'reserved', kind: 'u8[]', offset: 9, size: 3 },
    { name: 'crc', kind: 'u32', offset: 12, size: 4 },
  ] },
  SlotRecord: { size: 56, variable: false, fields: [
    { name: 'seq', kind: 'u16', offset: 0, size: 2 },
    { name: 'state', kind: 'u8', offset: 2, size: 1 },
    { name: 'reserved', kind: 'u8', offset: 3, size: 1 },
    { name: 'dataAddr', kind: 'u32', offset: 4, size: 4 },
    { name: 'capacity', kind: 'u32', offset: 8, size: 4 },
    { name: 'progress', kind: 'u32', offset: 12, size: 4 },
    { name: 'header', kind: 'struct', offset: 16, size: 36, struct: 'ImageHeader' },
    { name: 'crc', kind: 'u32', offset: 52, size: 4 },
  ] },
  StatusReply: { size: 1, variable: false, fields: [
    { name: 'status', kind: 'u8', offset: 0, size: 1 },
  ] },
  InfoReply: { size: 28, variable: false, fields: [
    { name: 'status', kind: 'u8', offset: 0, size: 1 },
    { name: 'protocol', kind: 'u8', offset: 1, size: 1 },
    { name: 'signature', kind: 'u8[]', offset: 2, size: 3 },
    { name: 'window', kind: 'u8', offset: 5, size: 1 },
    { name: 'blVersion', kind: 'u16', offset: 6, size: 2 },
    { name: 'maxChunk', kind: 'u16', offset: 8, size: 2 },
    { name: 'pageSize', kind: 'u8', offset: 10, size: 1 },
    { name: 'slotCount', kind: 'u8', offset: 11, size: 1 },
    { name: 'chipSize', kind: 'u32', offset: 12, size: 4 },
    { name: 'appVersion', kind: 'u32', offset: 16, size: 4 },
    { name: 'appCrc', kind: 'u32', offset: 20, size: 4 },
    { name: 'appLen', kind: 'u32', offset: 24, size: 4 },
  ] },
  SlotQuery: { size: 1, variable: false, fields: [
    { name: 'slot', kind: 'u8', offset: 0, size: 1 },
  ] },
  BeginRequest: { size: 12, variable: false, fields: [
    { name: 'slot', kind: 'u8', offset: 0, size: 1 },
    { name: 'reserved', kind: 'u8', offset: 1, size: 1 },
    { name: 'chunkSize', kind: 'u16', offset: 2, size: 2 },
    { name: 'length', kind: 'u32', offset: 4, size: 4 },
    { name: 'startChunk', kind: 'u16', offset: 8, size: 2 },
    { name: 'reserved2', kind: 'u16', offset: 10, size: 2 },
  ] },
  DataRequest: { size: 2, variable: true, fields: [
    { name: 'chunk', kind: 'u16', offset: 0, size: 2 },
    { name: 'data', kind: 'bytes', offset: 2, size: -1 },
  ] },
  AckReply: { size: 6, variable: false, fields: [
    { name: 'status', kind: 'u8', offset: 0, size: 1 },
    { name: 'reserved', kind: 'u8', offset: 1, size: 1 },
    { name: 'cumulative', kind: 'u16', offset: 2, size: 2 },
    { name: 'selective', kind: 'u16', offset: 4, size: 2 },
  ] },
  CrcRequest: { size: 8, variable: false, fields: [
    { name: 'slot', kind: 'u8', offset: 0, size: 1 },
    { name: 'reserved', kind: 'u8[]', offset: 1, size: 3 },
    { name: 'length', kind: 'u32', offset: 4, size: 4 },
  ] },
  CrcReply: { size: 8, variable: false, fields: [
    { name: 'status', kind: 'u8', offset: 0, size: 1 },
    { name: 'reserved', kind: 'u8[]', offset: 1, size: 3 },
    { name: 'crc', kind: 'u32', offset: 4, size: 4 },
  ] },
  ReadRequest: { size: 5, variable: false, fields: [
    { name: 'addr', kind: 'u32', offset: 0, size: 4 },
    { name: 'length', kind: 'u8', offset: 4, size: 1 },
  ] },
  ReadReply: { size: 1, variable: true, fields: [
    { name: 'status', kind: 'u8', offset: 0, size: 1 },
    { name: 'data', kind: 'bytes', offset: 1, size: -1 },
  ] },
  RecordRequest: { size: 1, variable: true, fields: [
    { name: 'which', kind: 'u8', offset: 0, size: 1 },
    { name: 'record', kind: 'bytes', offset: 1, size: -1 },
  ] },
  SuperblockRequest: { size: 28, variable: false, fields: [
    { name: 'superblock', kind: 'struct', offset: 0, size: 28, struct: 'Superblock' },
  ] },
};
