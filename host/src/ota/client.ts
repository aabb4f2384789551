// The node's services as typed calls, and the host's operations on the node's EEPROM file
// system. Each primitive sends one request (with the session's retries), checks the reply's
// status and returns the decoded reply; a refusal becomes an OtaError that says what the node
// objected to. In protocol 2 the host owns the file system's policy (protocol/STATES.md,
// WIRE.md "Who does what"): it reads the superblock and both copies of every record with READ
// and picks the newest valid copy as the node does; begin, end, activate, erase and format
// refuse what protocol 1's node refused (the same errors, nothing written) and write the next
// versions with RECORD (records.ts); format writes the superblock with SUPERBLOCK.
import {
  ActivateMode, BootFlag, BootResult, BootState, CHUNK_MIN, FRAME_MAX_PAYLOAD, FRAME_OVERHEAD, FS_MAX_SLOTS, FS_REC_PITCH, ImageFlag, Msg, NO_SLOT,
  PROTOCOL_VERSION, REPLY_BIT, SlotRole, SlotState, Status,
  decodeHeader, decodeRecord, decodeStruct, decodeSuperblock, encodeHeader, encodeStruct, encodeSuperblock, headerFor, hex32, layouts, pickRecord,
  planLayout, recordAddrs, slotDataAddr,
  type BootRecord, type Frame, type ImageHeader, type InfoReply, type SlotRecord, type Superblock, type StructName,
} from '../../../protocol/ts/index.ts';
import type { ByteLink } from '../transport/link.ts';
import { OtaError, hostRefusal, msgName, refusal } from './errors.ts';
import {
  BOOT_RECORD, bootRecord, noBootRecord, noHeader, recordRead, sameHeader, slotWhich, updateRecord,
  type RecordIo, type RecordName, type RecordRead,
} from './records.ts';
import { nodeFlash } from './node-flash.ts';
import { Session, type RetryOptions, type SessionOptions } from './session.ts';

export type ActivateModeName = 'now' | 'later' | 'trial';

export const activateModes: Record<ActivateModeName, number> = {
  now: ActivateMode.NOW,
  later: ActivateMode.NEXT_RESET,
  trial: ActivateMode.TRIAL,
};

/** One slot as the host describes it: its newest valid record (READ of both copies), plus its roles. */
export interface SlotInfo {
  slot: number;
  state: number;
  /** SlotRole bits, derived here from the boot record. */
  role: number;
  capacity: number;
  progress: number;
  header: ImageHeader;
}

/**
 * What the host knows of a node after INFO: the INFO reply, the flash figures of its part (INFO
 * names the chip by signature only), and the boot record's state, current slot and last result
 * (the host reads the boot record itself). appVersion is the running image's header's version
 * when the current slot holds that very image (see OtaClient.info).
 */
export interface NodeInfo extends InfoReply {
  /** Flash size of the part the signature names. */
  flashSize: number;
  /** Largest application: the stageboot bootloader's start address. */
  appMax: number;
  /** BootState from the boot record (0: no valid boot record). */
  bootState: number;
  /** Slot of the running image per the boot record, or NO_SLOT. */
  current: number;
  /** BootResult of the last activation (NONE without a boot record). */
  result: number;
}

/** Roles that forbid writing a slot: pending or installing, or a running trial's backup. */
export const IN_USE = SlotRole.PENDING | SlotRole.BACKUP;

/** SlotRole bits of slot i, from the boot record (the rule of protocol/STATES.md). */
export function slotRole(i: number, b: BootRecord): number {
  let role = 0;
  if (b.current === i) role |= SlotRole.CURRENT;
  if ((b.state === BootState.PENDING || b.state === BootState.INSTALLING) && b.slot === i) role |= SlotRole.PENDING;
  if (b.state === BootState.TRIAL && b.backup === i) role |= SlotRole.BACKUP;
  return role;
}

/** Chunk sizes the node takes: powers of two from CHUNK_MIN that divide its EEPROM page (WIRE.md). */
export function chunkSizeOk(size: number, info: Pick<InfoReply, 'maxChunk' | 'pageSize'>): boolean {
  return Number.isInteger(size) && size >= CHUNK_MIN && size <= info.maxChunk && (size & (size - 1)) === 0 && info.pageSize % size === 0;
}

/**
 * How long a client's first INFO keeps asking. It opens every session, so it must wait out a
 * board that is still starting: opening an Arduino's port resets it (DTR), and the bootloader
 * listens for about a second before the application, and the runtime library, can answer. A pty
 * to a simulated node does the same on the first byte after a quiet spell.
 */
export const WAKE_MS = 4000;

/**
 * How long a node may stay silent after a REBOOT into an install: the bootloader copies up to
 * 31 KiB (about 3.2 s) before the new application, and the runtime library, answer again.
 */
export const INSTALL_WAIT_MS = 10_000;

const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

export class OtaClient {
  readonly session: Session;
  private cachedInfo: NodeInfo | null = null;
  /** The last INFO reply: READ's limits (maxChunk, chipSize) while info() reads the records. */
  private lastReply: InfoReply | null = null;

  /** Retries of the first INFO: enough to span WAKE_MS, unless the caller chose the retries. */
  private readonly wakeRetries: number | undefined;

  constructor(readonly link: ByteLink, o: SessionOptions = {}) {
    this.session = new Session(link, o);
    const { timeoutMs, retries } = this.session.defaults;
    this.wakeRetries = o.retries === undefined ? Math.max(retries, Math.ceil(WAKE_MS / timeoutMs)) : undefined;
  }

  /** Sends a request, refuses a non-OK status, decodes the reply struct. */
  async call<N extends StructName>(type: number, payload: Uint8Array, reply: N, o: RetryOptions & { context?: string } = {}): Promise<ReturnType<typeof decodeStruct<N>>> {
    const f = await this.request(type, payload, o);
    this.check(type, f, o.context);
    return this.decodeReply(type, f, reply);
  }

  /**
   * One request with the session's retries. A frame longer than the link carries (a radio's
   * MTU) would only be lost, attempt after attempt: refused here, saying so.
   */
  private request(type: number, payload: Uint8Array, o: RetryOptions = {}): Promise<Frame> {
    const max = this.maxFramePayload();
    if (payload.length > max) {
      throw new OtaError(
        `${msgName(type)} needs a ${payload.length + FRAME_OVERHEAD}-byte frame, but the link ${this.link.name} carries at most ${max + FRAME_OVERHEAD} bytes`,
        'frame-too-big', 'refused', { request: msgName(type), frame: payload.length + FRAME_OVERHEAD, mtu: max + FRAME_OVERHEAD },
      );
    }
    return this.session.request(type, payload, o);
  }

  private decodeReply<N extends StructName>(type: number, f: Frame, reply: N): ReturnType<typeof decodeStruct<N>> {
    if (f.payload.length < layouts[reply].size) {
      throw new OtaError(`${msgName(type)} reply is ${f.payload.length} bytes, expected at least ${layouts[reply].size}: host and node disagree on the protocol`, 'bad-reply', 'refused');
    }
    return decodeStruct(reply, f.payload);
  }

  private check(type: number, f: Frame, context?: string): void {
    if (f.type !== (type | REPLY_BIT) || f.payload.length < 1) {
      throw new OtaError(`malformed reply to ${msgName(type)}`, 'bad-reply', 'refused');
    }
    if (f.payload[0] !== Status.OK) throw refusal(type, f.payload[0], context);
  }

  /**
   * INFO, then the boot record (READ of both copies). The client's first INFO waits out a
   * starting board (see WAKE_MS) unless retries were set. The node reports the version compiled
   * into the running sketch; when the boot record's `current` slot holds exactly the running
   * image (its header's length and payload CRC are appLen and appCrc), the version in that
   * header is the one the user gave it: shown instead.
   */
  async info(o: RetryOptions = {}): Promise<NodeInfo> {
    const wake = this.cachedInfo || this.wakeRetries === undefined ? {} : { retries: this.wakeRetries };
    const f = await this.request(Msg.INFO, new Uint8Array(0), { ...wake, ...o });
    this.check(Msg.INFO, f);
    if (f.payload.length >= 2 && f.payload[1] !== PROTOCOL_VERSION) {
      throw new OtaError(`the node speaks protocol version ${f.payload[1]}; this host speaks ${PROTOCOL_VERSION}`, 'protocol-version', 'refused');
    }
    const reply = this.decodeReply(Msg.INFO, f, 'InfoReply');
    this.lastReply = reply;
    const b = await this.boot();
    const info: NodeInfo = { ...reply, ...nodeFlash(reply.signature), bootState: b.state, current: b.current, result: b.result };
    if (info.current < info.slotCount) {
      const h = (await this.slotRecord(info.current)).record?.header;
      if (h && h.length === info.appLen && h.payloadCrc === info.appCrc) info.appVersion = h.appVersion;
    }
    this.cachedInfo = info;
    return info;
  }

  /** INFO, asked once per client. */
  async nodeInfo(): Promise<NodeInfo> {
    return this.cachedInfo ?? this.info();
  }

  /** One slot: its newest valid record; roles from `boot` (read when not given). */
  async slot(slot: number, boot?: BootRecord): Promise<SlotInfo> {
    const rec = (await this.slotRecord(slot)).record;
    const b = boot ?? await this.boot();
    const role = slotRole(slot, b);
    // No valid record: an empty slot of unknown capacity.
    if (!rec) return { slot, state: SlotState.EMPTY, role, capacity: 0, progress: 0, header: noHeader() };
    return { slot, state: rec.state, role, capacity: rec.capacity, progress: rec.progress, header: rec.header };
  }

  async slots(): Promise<SlotInfo[]> {
    const info = await this.nodeInfo();
    const b = await this.boot();
    const out: SlotInfo[] = [];
    for (let i = 0; i < info.slotCount; i++) out.push(await this.slot(i, b));
    return out;
  }

  /** The boot record; with no valid one, a record that names no slot (state 0). */
  async boot(): Promise<BootRecord> {
    return (await this.bootRecord()).record ?? noBootRecord();
  }

  /** Slot i's newest valid record (null: none) and its seq, read from both copies. */
  async slotRecord(slot: number): Promise<RecordRead<SlotRecord>> {
    return this.recordCopies('SlotRecord', slot);
  }

  /** The newest valid boot record (null: none) and its seq, read from both copies. */
  async bootRecord(): Promise<RecordRead<BootRecord>> {
    return this.recordCopies('BootRecord', 'boot');
  }

  /**
   * A record read as the node's own reader does: both copies with READ (at FS_REC_PITCH, where
   * the node keeps them whether or not the EEPROM is formatted), the newest valid one picked
   * (protocol/ts/fs.ts pickRecord: B wins a tie). Its seq is what the next RECORD names.
   */
  async recordCopies<N extends RecordName>(name: N, which: 'boot' | number): Promise<RecordRead<N extends 'BootRecord' ? BootRecord : SlotRecord>> {
    const size = layouts[name].size;
    const [a, b] = recordAddrs(FS_REC_PITCH, which);
    const copy = async (at: number) => decodeRecord(name, await this.read(at, size));
    return recordRead(pickRecord(await copy(a), await copy(b)).record);
  }

  /**
   * RECORD: the next version of a record, sent without its CRC field (the node computes it; a
   * slot record's frame stays within a 61-byte radio packet). Resolves with the node's status
   * (OK, or STALE when its newest record's seq is not `seq`).
   */
  async record<N extends RecordName>(name: N, which: number, rec: N extends 'BootRecord' ? BootRecord : SlotRecord, seq: number): Promise<number> {
    if (!Number.isInteger(which) || which < 0 || which > FS_MAX_SLOTS) throw hostRefusal(Msg.RECORD, Status.BAD_FRAME, `of record ${which}`);
    const bytes = encodeStruct(name, { ...rec, seq, crc: 0 } as never).subarray(0, layouts[name].size - 4);
    const f = await this.request(Msg.RECORD, encodeStruct('RecordRequest', { which, record: bytes }));
    if (f.type !== (Msg.RECORD | REPLY_BIT) || f.payload.length < 1) throw new OtaError('malformed reply to RECORD', 'bad-reply', 'refused');
    return f.payload[0];
  }

  private slotIo(slot: number): RecordIo<'SlotRecord'> {
    return {
      name: 'SlotRecord', which: slotWhich(slot), context: `of slot ${slot}`,
      read: () => this.slotRecord(slot),
      write: (r, seq) => this.record('SlotRecord', slotWhich(slot), r, seq),
    };
  }

  private bootIo(): RecordIo<'BootRecord'> {
    return {
      name: 'BootRecord', which: BOOT_RECORD, context: 'of the boot record',
      read: () => this.bootRecord(),
      write: (r, seq) => this.record('BootRecord', BOOT_RECORD, r, seq),
    };
  }

  /**
   * SUPERBLOCK: writes these 28 bytes at EEPROM address 0; the node then takes the layout if it
   * is valid for its chip (1 .. FS_MAX_SLOTS slots), else it reports no slots.
   */
  async writeSuperblock(bytes: Uint8Array): Promise<void> {
    if (bytes.length !== layouts.SuperblockRequest.size) throw hostRefusal(Msg.SUPERBLOCK, Status.BAD_FRAME);
    await this.call(Msg.SUPERBLOCK, bytes, 'StatusReply');
  }

  /**
   * CRC: the node's CRC-32 of the first `length` bytes of a slot's data area, read from its
   * EEPROM; it ends a transfer into that slot. That takes a while (about 24 us a byte over I2C,
   * 0.75 s for 31 KiB), hence a longer timeout, but only about three times that: a lost request
   * or reply is resent sooner, and CRC is idempotent.
   */
  async crc(slot: number, length: number): Promise<number> {
    const timeoutMs = this.session.defaults.timeoutMs + Math.ceil(length / 16);
    return (await this.call(Msg.CRC, encodeStruct('CrcRequest', { slot, length }), 'CrcReply', { timeoutMs, context: `of slot ${slot}` })).crc;
  }

  /** BACKUP: the node copies its running application (appLen bytes of flash) into a slot. */
  async backup(slot: number): Promise<void> {
    const info = await this.nodeInfo();
    const timeoutMs = this.session.defaults.timeoutMs + Math.ceil(info.appLen / 4);
    await this.call(Msg.BACKUP, encodeStruct('SlotQuery', { slot }), 'StatusReply', { timeoutMs, context: `into slot ${slot}` });
  }

  /** The superblock, read with READ (null: the EEPROM is not formatted). */
  async superblock(): Promise<Superblock | null> {
    return decodeSuperblock(await this.read(0, layouts.Superblock.size));
  }

  /** A slot that exists on this node, or the refusal the node would have given. */
  private async existingSlot(op: number | string, slot: number, context: string): Promise<NodeInfo> {
    const info = await this.nodeInfo();
    if (!info.slotCount) throw hostRefusal(op, Status.NOT_FORMATTED, context);
    if (!Number.isInteger(slot) || slot < 0 || slot >= info.slotCount) throw hostRefusal(op, Status.BAD_SLOT, context);
    return info;
  }

  /** Where slot i's data lives: from its valid record, else from the superblock. */
  private async slotPlace(slot: number, rec: SlotRecord | null, op: number | string, context: string): Promise<{ dataAddr: number; capacity: number }> {
    if (rec && rec.capacity > 0) return { dataAddr: rec.dataAddr, capacity: rec.capacity };
    const sb = await this.superblock();
    if (!sb) throw hostRefusal(op, Status.NOT_FORMATTED, context);
    return { dataAddr: slotDataAddr(sb, slot), capacity: sb.slotSize };
  }

  /**
   * Starts or resumes a transfer; returns the first chunk the node still needs. The host checks
   * what the node used to (protocol 1) before anything is written: chunk size, header, target,
   * size, and that the slot is not in use. A slot RECEIVING this very image resumes at the
   * progress the node persisted; any other gets a fresh RECEIVING record first, then BEGIN opens
   * the transfer on the node.
   */
  async begin(slot: number, chunkSize: number, header: ImageHeader): Promise<number> {
    const ctx = `into slot ${slot}`;
    const info = await this.existingSlot(Msg.BEGIN, slot, ctx);
    if (!chunkSizeOk(chunkSize, info)) throw hostRefusal(Msg.BEGIN, Status.BAD_FRAME, ctx);
    try { decodeHeader(encodeHeader(header)); } catch { throw hostRefusal(Msg.BEGIN, Status.BAD_HEADER, ctx); }
    if (header.length < 1) throw hostRefusal(Msg.BEGIN, Status.BAD_HEADER, ctx);
    if (!sameBytes(header.signature, info.signature)) throw hostRefusal(Msg.BEGIN, Status.WRONG_TARGET, ctx);
    if (header.loadAddr !== 0 || header.length > info.appMax) throw hostRefusal(Msg.BEGIN, Status.TOO_BIG, ctx);
    if (slotRole(slot, await this.boot()) & IN_USE) throw hostRefusal(Msg.BEGIN, Status.SLOT_IN_USE, ctx);
    const count = Math.ceil(header.length / chunkSize);
    let resume = 0;
    const io = this.slotIo(slot);
    const first = await io.read();
    const place = await this.slotPlace(slot, first.record, Msg.BEGIN, ctx);
    if (header.length > place.capacity) throw hostRefusal(Msg.BEGIN, Status.TOO_BIG, ctx);
    await updateRecord(io, (cur) => {
      if (cur?.state === SlotState.RECEIVING && sameHeader(cur.header, header)) {
        resume = Math.min(Math.floor(cur.progress / chunkSize), count);
        return null;
      }
      resume = 0;
      return { seq: 0, state: SlotState.RECEIVING, reserved: 0, ...place, progress: 0, header, crc: 0 };
    }, first);
    await this.call(Msg.BEGIN, encodeStruct('BeginRequest', { slot, chunkSize, length: header.length, startChunk: resume }), 'StatusReply', { context: ctx });
    return resume;
  }

  /**
   * Ends a transfer: the node reads the payload back from its EEPROM (CRC); the host marks the
   * slot STAGED when that CRC is the header's, else BAD. Returns the node's CRC.
   */
  async end(slot: number, header: ImageHeader): Promise<number> {
    const crc = await this.crc(slot, header.length);
    const ok = crc === header.payloadCrc;
    const io = this.slotIo(slot);
    const first = await io.read();
    const place = await this.slotPlace(slot, first.record, Msg.CRC, `of slot ${slot}`);
    await updateRecord(io, (cur) => ({
      seq: 0, reserved: 0, ...place, crc: 0, header,
      state: ok ? SlotState.STAGED : SlotState.BAD,
      progress: ok ? header.length : Math.min(cur?.progress ?? 0, header.length),
    }), first);
    if (!ok) {
      throw new OtaError(
        `CRC mismatch: the node computed CRC-32 0x${hex32(crc)} over slot ${slot}'s payload in its EEPROM, the image header says 0x${hex32(header.payloadCrc)}; the slot is marked BAD`,
        'crc-mismatch', 'refused', { nodeCrc: hex32(crc), imageCrc: hex32(header.payloadCrc) },
      );
    }
    return crc;
  }

  /**
   * Installs a STAGED slot: PENDING in the boot record, then (now, trial) a reboot into the
   * bootloader. A trial first makes sure a slot holds the running image to revert to: a STAGED
   * slot with its length and CRC, else a spare slot the node copies its flash into (BACKUP),
   * checked with CRC before it is marked STAGED.
   */
  async activate(slot: number, mode: ActivateModeName): Promise<void> {
    const ctx = `of slot ${slot}`;
    const info = await this.existingSlot('ACTIVATE', slot, ctx);
    if ((await this.boot()).state === BootState.TRIAL) throw trialRunning();
    if ((await this.slotRecord(slot)).record?.state !== SlotState.STAGED) throw hostRefusal('ACTIVATE', Status.NOT_STAGED, ctx);
    const backup = mode === 'trial' ? await this.backupFor(slot, info, ctx) : NO_SLOT;
    await updateRecord(this.bootIo(), (cur) => {
      if (cur?.state === BootState.TRIAL) throw trialRunning();
      return bootRecord({
        state: BootState.PENDING, flags: mode === 'trial' ? BootFlag.TRIAL : 0, slot, current: cur?.current ?? NO_SLOT,
        backup, result: BootResult.NONE, attempts: 0,
      });
    });
    if (mode !== 'later') await this.rebootForInstall(slot);
  }

  /** The slot a trial of `target` reverts to, made if need be (STATES.md, "Trial and the backup image"). */
  private async backupFor(target: number, info: NodeInfo, ctx: string): Promise<number> {
    const recs: (SlotRecord | null)[] = [];
    for (let k = 0; k < info.slotCount; k++) recs.push(k === target ? null : (await this.slotRecord(k)).record);
    const holdsRunning = recs.findIndex((r) => r?.state === SlotState.STAGED && r.header.length === info.appLen && r.header.payloadCrc === info.appCrc);
    if (holdsRunning >= 0) return holdsRunning;
    // A slot holding nothing worth keeping: never a staged image or a transfer under way.
    const spare = recs.findIndex((r, k) => k !== target && r?.state !== SlotState.STAGED && r?.state !== SlotState.RECEIVING);
    if (spare < 0) throw hostRefusal('ACTIVATE', Status.NO_BACKUP_ROOM, ctx);
    const header = headerFor(info.appLen, info.appCrc, { signature: info.signature, appVersion: info.appVersion, flags: ImageFlag.CONFIRMS });
    const place = await this.slotPlace(spare, recs[spare], 'ACTIVATE', ctx);
    if (info.appLen > place.capacity) throw hostRefusal('ACTIVATE', Status.NO_BACKUP_ROOM, ctx);
    const io = this.slotIo(spare);
    await updateRecord(io, () => ({ seq: 0, state: SlotState.RECEIVING, reserved: 0, ...place, progress: 0, header, crc: 0 }));
    await this.backup(spare);
    const crc = await this.crc(spare, info.appLen);
    if (crc !== info.appCrc) {
      throw new OtaError(
        `the node's copy of its running application in slot ${spare} reads back from its EEPROM with CRC-32 0x${hex32(crc)}, not 0x${hex32(info.appCrc)}: the EEPROM did not keep it; nothing was activated`,
        'eeprom-error', 'refused', { nodeCrc: hex32(crc), appCrc: hex32(info.appCrc) },
      );
    }
    await updateRecord(io, () => ({ seq: 0, state: SlotState.STAGED, reserved: 0, ...place, progress: info.appLen, header, crc: 0 }));
    return spare;
  }

  /**
   * REBOOT for an install, sent once: resending it blindly could reset a trial image the
   * bootloader has just started, and that reset reverts it. With no reply, either REBOOT was
   * lost (the node still runs, PENDING) or its reply was (the bootloader is installing): the
   * node is asked again once it answers, and only in the first case rebooted again.
   */
  private async rebootForInstall(slot: number): Promise<void> {
    const attempts = this.session.defaults.retries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.call(Msg.REBOOT, new Uint8Array(0), 'StatusReply', { retries: 0 });
        return;
      } catch (err) {
        if (!(err instanceof OtaError && err.code === 'no-reply') || attempt >= attempts) throw err;
      }
      await this.info({ retries: Math.ceil(INSTALL_WAIT_MS / this.session.defaults.timeoutMs) });
      const b = await this.boot();
      if (b.state !== BootState.PENDING || b.slot !== slot) return; // the bootloader has taken it
    }
  }

  async confirm(): Promise<void> {
    await this.call(Msg.CONFIRM, new Uint8Array(0), 'StatusReply');
  }

  /** Marks a slot EMPTY (its place in the EEPROM stays), unless it is in use. */
  async erase(slot: number): Promise<void> {
    const ctx = `of slot ${slot}`;
    await this.existingSlot('ERASE', slot, ctx);
    if (slotRole(slot, await this.boot()) & IN_USE) throw hostRefusal('ERASE', Status.SLOT_IN_USE, ctx);
    await updateRecord(this.slotIo(slot), (cur) => (!cur || cur.state === SlotState.EMPTY ? null : {
      ...cur, seq: 0, crc: 0, state: SlotState.EMPTY, progress: 0, header: noHeader(),
    }));
  }

  async reboot(): Promise<void> {
    await this.call(Msg.REBOOT, new Uint8Array(0), 'StatusReply');
  }

  /**
   * Lays out the node's EEPROM afresh (every slot and the boot record are lost). The host plans
   * the layout for the chip INFO reports. Power-safe order (STATES.md): an invalid superblock
   * first (the node then reports no slots), then a fresh boot record and EMPTY slot records,
   * and the planned superblock last, so a cut anywhere reads as "not formatted" until the very
   * last write lands whole.
   */
  async format(slotCount?: number): Promise<Superblock> {
    const info = await this.info();
    const sb = planLayout({ name: 'node', size: info.chipSize, pageSize: info.pageSize, bankSize: 64 * 1024 }, slotCount);
    await this.writeSuperblock(new Uint8Array(layouts.Superblock.size));
    await updateRecord(this.bootIo(), () => bootRecord({
      state: BootState.IDLE, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: BootResult.NONE, attempts: 0,
    }));
    for (let i = 0; i < sb.slotCount; i++) {
      await updateRecord(this.slotIo(i), () => ({
        seq: 0, state: SlotState.EMPTY, reserved: 0, dataAddr: slotDataAddr(sb, i), capacity: sb.slotSize, progress: 0, header: noHeader(), crc: 0,
      }));
    }
    await this.writeSuperblock(encodeSuperblock(sb));
    await this.info(); // the slot count changed
    return sb;
  }

  /**
   * Reads any length of EEPROM in pieces the node accepts. The node does not check the chip's
   * size or a 24LC1025's 64 KiB block (a read past either wraps): the host refuses a range
   * beyond the chip, as the node used to, and splits at every 64 KiB boundary.
   */
  async read(addr: number, length: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const info = this.lastReply ?? await this.nodeInfo();
    if (!Number.isInteger(addr) || !Number.isInteger(length) || addr < 0 || length < 0 || addr + length > info.chipSize) {
      throw hostRefusal(Msg.READ, Status.BAD_RANGE, `at 0x${addr.toString(16)} (${length} bytes; the EEPROM holds ${info.chipSize})`);
    }
    const piece = Math.max(1, Math.min(info.maxChunk, 0xff, this.maxFramePayload() - layouts.ReadReply.size));
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      // Never across a 64 KiB boundary: a 24LC1025's sequential read wraps there (WIRE.md).
      const n = Math.min(piece, length - done, 0x10000 - ((addr + done) & 0xffff));
      const r = await this.call(Msg.READ, encodeStruct('ReadRequest', { addr: addr + done, length: n }), 'ReadReply', { context: `at 0x${(addr + done).toString(16)}` });
      if (r.data.length !== n) throw new OtaError(`READ at 0x${(addr + done).toString(16)} returned ${r.data.length} bytes, asked for ${n}`, 'bad-reply', 'refused');
      out.set(r.data, done);
      done += n;
      onProgress?.(done);
    }
    return out;
  }

  /** Largest frame payload this link carries (a radio's MTU bounds it). */
  maxFramePayload(): number {
    const mtu = this.link.mtu;
    return mtu === undefined ? FRAME_MAX_PAYLOAD : Math.max(0, Math.min(FRAME_MAX_PAYLOAD, mtu - FRAME_OVERHEAD));
  }

  close(): void {
    this.session.close();
  }
}

/** No activation while a trial runs: it ends with CONFIRM or a revert. */
export function trialRunning(): OtaError {
  return new OtaError(
    'a trial is running on the node: it takes no other activation until the trial is confirmed (the application calls confirm(), or `stageboot confirm`) or reverted by a reset',
    'trial-running', 'refused',
  );
}
