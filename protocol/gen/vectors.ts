// Writes the test vectors in protocol/vectors/ from the TypeScript codecs. Both the TypeScript
// tests and the C tests (sketch-lib's core compiled with host gcc, the bootloader on the
// simulated node) check themselves against these files. One vector per line, fields separated
// by single spaces, byte strings in lower-case hex, "-" for an empty field; '#' starts a comment.
import {
  BootFlag, BootState, SlotState, BootResult, FS_REC_PITCH, Msg, NO_SLOT, PROTOCOL_VERSION, REPLY_BIT, Status, layouts,
  type BootRecord, type SlotRecord,
} from '../generated/protocol.ts';
import { crc16, crc32 } from '../ts/crc.ts';
import { chips } from '../ts/chips.ts';
import { encodeRecord, encodeSuperblock, planLayout, pickRecord, decodeRecord, recordAddrs } from '../ts/fs.ts';
import { encodeFrame } from '../ts/frame.ts';
import { encodeHeader, makeHeader } from '../ts/image.ts';
import { decodeStruct, encodeStruct } from '../ts/struct.ts';

const hx = (b: Uint8Array) => (b.length ? Buffer.from(b).toString('hex') : '-');
const h32 = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

/** A deterministic byte generator (xorshift32), so vectors never change by accident. */
function bytes(n: number, seed: number): Uint8Array {
  let x = seed >>> 0 || 1;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

function crcVectors(fn: (b: Uint8Array) => number, width: number): string[] {
  const inputs = [new Uint8Array(0), new TextEncoder().encode('123456789'), Uint8Array.of(0), Uint8Array.of(0xff, 0xff, 0xff, 0xff), bytes(128, 7), bytes(251, 99)];
  return inputs.map((b) => `${hx(b)} ${fn(b).toString(16).padStart(width, '0')}`);
}

/** A record as RECORD carries it: without its trailing CRC field, which the node computes. */
function recordBody(name: 'BootRecord' | 'SlotRecord', rec: BootRecord | SlotRecord): Uint8Array {
  return encodeStruct(name, rec as never).subarray(0, layouts[name].size - 4);
}

function frameVectors(): string[] {
  const sig = Uint8Array.of(0x1e, 0x95, 0x0f);
  const app = bytes(3000, 21);
  const header = makeHeader(app, { signature: sig, appVersion: 0x020000 });
  const sb = planLayout(chips['24LC512'], 2);
  const slotRecord: SlotRecord = { seq: 7, state: SlotState.RECEIVING, reserved: 0, dataAddr: sb.dataStart, capacity: sb.slotSize, progress: 0, header, crc: 0 };
  const bootRecord: BootRecord = { seq: 3, state: BootState.PENDING, flags: BootFlag.TRIAL, slot: 0, current: 1, backup: 1, result: BootResult.NONE, attempts: 0, reserved: new Uint8Array(3), crc: 0 };
  // Protocol 2 messages as the host and the node send them, then raw payloads of the sizes
  // that matter (a 64- and a 128-byte DATA chunk) and one full of SOF bytes.
  const cases: [string, number, number, Uint8Array][] = [
    ['INFO', Msg.INFO, 0, new Uint8Array(0)],
    ['INFO reply (InfoReply, 28 bytes: static facts of the node; the records the host reads itself)', Msg.INFO | REPLY_BIT, 0, encodeStruct('InfoReply', {
      status: Status.OK, protocol: PROTOCOL_VERSION, signature: sig, window: 2, blVersion: 0x0102, maxChunk: 128, pageSize: 128, slotCount: 2,
      chipSize: 65536, appVersion: 0x010000, appCrc: crc32(app.subarray(0, 2900)), appLen: 2900,
    })],
    ['READ of slot 0\'s record copy A (56 bytes at 5 x FS_REC_PITCH)', Msg.READ, 1, encodeStruct('ReadRequest', { addr: recordAddrs(FS_REC_PITCH, 0)[0], length: 56 })],
    ['READ reply: the boot record copy as the EEPROM holds it', Msg.READ | REPLY_BIT, 2, encodeStruct('ReadReply', { status: Status.OK, data: encodeRecord('BootRecord', bootRecord) })],
    ['RECORD of slot 0 (which 1, the slot record with the seq read, without its CRC field: a 59-byte frame)', Msg.RECORD, 3, encodeStruct('RecordRequest', { which: 1, record: recordBody('SlotRecord', slotRecord) })],
    ['RECORD of the boot record (which 0, 12 bytes): PENDING for trial', Msg.RECORD, 4, encodeStruct('RecordRequest', { which: 0, record: recordBody('BootRecord', bootRecord) })],
    ['BEGIN slot 0, 128-byte chunks, resuming at chunk 12', Msg.BEGIN, 5, encodeStruct('BeginRequest', { slot: 0, chunkSize: 128, length: app.length, startChunk: 12 })],
    ['CRC of slot 0', Msg.CRC, 6, encodeStruct('CrcRequest', { slot: 0, length: app.length })],
    ['CRC reply', Msg.CRC | REPLY_BIT, 6, encodeStruct('CrcReply', { status: Status.OK, crc: header.payloadCrc })],
    ['SUPERBLOCK: an invalid one (28 zero bytes), what a format writes first', Msg.SUPERBLOCK, 7, encodeStruct('SuperblockRequest', { superblock: decodeStruct('Superblock', new Uint8Array(28)) })],
    ['SUPERBLOCK: the planned layout (24LC512, 2 slots), what a format writes last', Msg.SUPERBLOCK, 8, encodeStruct('SuperblockRequest', { superblock: sb })],
    ['BACKUP into slot 1', Msg.BACKUP, 9, encodeStruct('SlotQuery', { slot: 1 })],
    ['RECORD refused: STALE', Msg.RECORD | REPLY_BIT, 3, Uint8Array.of(Status.STALE)],
    ['DATA, 64-byte chunk', Msg.DATA, 0x7e, bytes(66, 5)],
    ['DATA, 128-byte chunk', Msg.DATA, 255, bytes(130, 11)],
    ['SOF bytes in the payload', Msg.READ, 1, Uint8Array.of(0x7e, 0x7e, 0x7e)],
  ];
  return cases.flatMap(([what, type, seq, p]) => [`# ${what}`, `${type.toString(16)} ${seq.toString(16)} ${hx(p)} ${hx(encodeFrame({ type, seq, payload: p }))}`]);
}

function imageVectors(): string[] {
  const sig = Uint8Array.of(0x1e, 0x95, 0x0f);
  const out: string[] = [];
  for (const [len, seed, ver] of [[1, 1, 1], [128, 2, 0x010203], [31744, 3, 0x020000]] as const) {
    const payload = bytes(len, seed);
    const h = encodeHeader(makeHeader(payload, { signature: sig, appVersion: ver }));
    out.push(`valid ${len} ${h32(crc32(payload))} ${hx(h)}`);
    const bad = h.slice(); bad[20] ^= 1; // payload CRC field flipped: header CRC must catch it
    out.push(`bad-header-crc ${len} ${h32(crc32(payload))} ${hx(bad)}`);
  }
  return out;
}

function layoutVectors(): string[] {
  const out: string[] = [];
  for (const chip of Object.values(chips)) {
    for (const n of [1, 2, 4]) {
      const sb = planLayout(chip, n);
      out.push(`${chip.size} ${chip.pageSize} ${n} ${sb.recPitch} ${sb.dataStart} ${sb.slotSize} ${hx(encodeSuperblock(sb))}`);
    }
  }
  return out;
}

/** Pairs of record copies (A, B), some torn, with the copy a reader must pick. */
function recordVectors(): string[] {
  const boot = (seq: number, state: number): BootRecord => ({
    seq, state, flags: 0, slot: 0, current: NO_SLOT, backup: NO_SLOT, result: BootResult.NONE, attempts: 0, reserved: new Uint8Array(3), crc: 0,
  });
  const slot = (seq: number, state: number): SlotRecord => ({
    seq, state, reserved: 0, dataAddr: 896, capacity: 32320, progress: 1024,
    header: makeHeader(bytes(2048, 4), { signature: Uint8Array.of(0x1e, 0x95, 0x0f) }), crc: 0,
  });
  const tear = (b: Uint8Array, seed: number) => {
    const t = b.slice(); const r = bytes(t.length, seed);
    for (let i = 0; i < t.length; i++) if (r[i] & 1) t[i] = 0xff; // bytes that never landed read erased
    return t;
  };
  const erased = (n: number) => new Uint8Array(n).fill(0xff);
  const rows: [string, Uint8Array, Uint8Array][] = [];
  for (const [kind, make, st] of [['boot', boot, BootState.PENDING], ['slot', slot, SlotState.STAGED]] as const) {
    const A = (s: number) => encodeRecord(kind === 'boot' ? 'BootRecord' : 'SlotRecord', (make as (a: number, b: number) => never)(s, st));
    const n = A(1).length;
    rows.push([kind, erased(n), erased(n)], [kind, A(1), erased(n)], [kind, erased(n), A(1)], [kind, A(5), A(6)], [kind, A(7), A(6)],
      [kind, A(0xffff), A(0)], [kind, A(0), A(0xffff)], [kind, tear(A(9), 21), A(8)], [kind, A(10), tear(A(11), 22)]);
  }
  return rows.map(([kind, a, b]) => {
    const name = kind === 'boot' ? 'BootRecord' : 'SlotRecord';
    const p = pickRecord(decodeRecord(name, a), decodeRecord(name, b));
    const winner = p.record === null ? 'none' : p.writeTo === 1 ? 'A' : 'B';
    return `${kind} ${hx(a)} ${hx(b)} ${winner} ${p.nextSeq} ${p.writeTo === 0 ? 'A' : 'B'}`;
  });
}

export function vectorFiles(): Record<string, string> {
  const file = (doc: string, lines: string[]) => `# ${doc}\n${lines.join('\n')}\n`;
  return {
    'protocol/vectors/crc32.txt': file('input crc32 (CRC-32/ISO-HDLC)', crcVectors(crc32, 8)),
    'protocol/vectors/crc16.txt': file('input crc16 (CRC-16/CCITT-FALSE)', crcVectors(crc16, 4)),
    'protocol/vectors/frames.txt': file('type seq payload frame (protocol 2 messages, each after a comment naming it)', frameVectors()),
    'protocol/vectors/images.txt': file('verdict payload-length payload-crc32 header (a valid header of a payload of that length and CRC, or one with a flipped bit)', imageVectors()),
    'protocol/vectors/layouts.txt': file('chip-size page-size slots rec-pitch data-start slot-size superblock', layoutVectors()),
    'protocol/vectors/records.txt': file('kind copyA copyB winner(A|B|none) next-seq write-to(A|B): the reader picks the newest valid copy; a writer writes the other', recordVectors()),
  };
}
