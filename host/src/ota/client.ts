// The node's services as typed calls. Each method sends one request (with the session's
// retries), checks the reply's status and returns the decoded reply; a refusal becomes an
// OtaError that says what the node objected to.
import {
  ActivateMode, BootState, CHUNK_MIN, FRAME_MAX_PAYLOAD, FRAME_OVERHEAD, Msg, PROTOCOL_VERSION, REPLY_BIT, SlotRole, SlotState, Status,
  decodeRecord, decodeStruct, encodeHeader, encodeStruct, encodeSuperblock, hex32, layouts, planLayout,
  type BootRecord, type Frame, type ImageHeader, type InfoReply, type Superblock, type StructName,
} from '../../../protocol/ts/index.ts';
import type { ByteLink } from '../transport/link.ts';
import { OtaError, msgName, refusal } from './errors.ts';
import { Session, type RetryOptions, type SessionOptions } from './session.ts';

export type ActivateModeName = 'now' | 'later' | 'trial';

export const activateModes: Record<ActivateModeName, number> = {
  now: ActivateMode.NOW,
  later: ActivateMode.NEXT_RESET,
  trial: ActivateMode.TRIAL,
};

/** One slot as the host describes it: the node's raw record, decoded, plus its roles. */
export interface SlotInfo {
  slot: number;
  state: number;
  /** SlotRole bits, derived here from the boot record (the node sends raw records). */
  role: number;
  capacity: number;
  progress: number;
  header: ImageHeader;
}

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

export class OtaClient {
  readonly session: Session;
  private cachedInfo: InfoReply | null = null;

  /** Retries of the first INFO: enough to span WAKE_MS, unless the caller chose the retries. */
  private readonly wakeRetries: number | undefined;

  constructor(readonly link: ByteLink, o: SessionOptions = {}) {
    this.session = new Session(link, o);
    const { timeoutMs, retries } = this.session.defaults;
    this.wakeRetries = o.retries === undefined ? Math.max(retries, Math.ceil(WAKE_MS / timeoutMs)) : undefined;
  }

  /** Sends a request, refuses a non-OK status, decodes the reply struct. */
  async call<N extends StructName>(type: number, payload: Uint8Array, reply: N, o: RetryOptions & { context?: string } = {}): Promise<ReturnType<typeof decodeStruct<N>>> {
    const f = await this.session.request(type, payload, o);
    this.check(type, f, o.context);
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

  /** INFO. The client's first one waits out a starting board (see WAKE_MS) unless retries were set. */
  async info(o: RetryOptions = {}): Promise<InfoReply> {
    const wake = this.cachedInfo || this.wakeRetries === undefined ? {} : { retries: this.wakeRetries };
    const info = await this.call(Msg.INFO, new Uint8Array(0), 'InfoReply', { ...wake, ...o });
    if (info.protocol !== PROTOCOL_VERSION) {
      throw new OtaError(`the node speaks protocol version ${info.protocol}; this host speaks ${PROTOCOL_VERSION}`, 'protocol-version', 'refused');
    }
    this.cachedInfo = info;
    return info;
  }

  /** INFO, asked once per client. */
  async nodeInfo(): Promise<InfoReply> {
    return this.cachedInfo ?? this.info();
  }

  /** One slot: its raw record from the node; roles from `boot` (read when not given). */
  async slot(slot: number, boot?: BootRecord): Promise<SlotInfo> {
    const r = await this.call(Msg.SLOT, encodeStruct('SlotQuery', { slot }), 'SlotReply', { context: `of slot ${slot}` });
    const rec = decodeRecord('SlotRecord', encodeStruct('SlotRecord', r.record));
    const b = boot ?? await this.boot();
    const role = slotRole(slot, b);
    // No valid record (all zeros): an empty slot of unknown capacity.
    if (!rec) return { slot, state: SlotState.EMPTY, role, capacity: 0, progress: 0, header: decodeStruct('ImageHeader', new Uint8Array(layouts.ImageHeader.size)) };
    return { slot, state: rec.state, role, capacity: rec.capacity, progress: rec.progress, header: rec.header };
  }

  async slots(): Promise<SlotInfo[]> {
    const info = await this.nodeInfo();
    const b = await this.boot();
    const out: SlotInfo[] = [];
    for (let i = 0; i < info.slotCount; i++) out.push(await this.slot(i, b));
    return out;
  }

  async boot(): Promise<BootRecord> {
    return (await this.call(Msg.BOOT, new Uint8Array(0), 'BootReply')).record;
  }

  /** Starts or resumes a transfer; returns the first chunk the node still needs. */
  async begin(slot: number, chunkSize: number, header: ImageHeader): Promise<number> {
    const r = await this.call(Msg.BEGIN, encodeStruct('BeginRequest', { slot, chunkSize, header: encodeHeader(header) }), 'BeginReply', { context: `into slot ${slot}` });
    return r.resumeChunk;
  }

  /**
   * Ends a transfer: the node reads the payload back from its EEPROM and checks its CRC-32.
   * That takes a while (the whole slot over I2C: about 24 us a byte, 0.75 s for 31 KiB), hence
   * a longer timeout, but only about three times that: a lost END or reply is resent sooner,
   * and a copy that arrives while the node still computes waits in its serial ring and gets
   * the same answer (END is idempotent).
   */
  async end(slot: number, header: ImageHeader): Promise<number> {
    const timeoutMs = this.session.defaults.timeoutMs + Math.ceil(header.length / 16);
    const f = await this.session.request(Msg.END, encodeStruct('SlotQuery', { slot }), { timeoutMs });
    if (f.payload[0] === Status.BAD_CRC && f.payload.length >= layouts.EndReply.size) {
      const r = decodeStruct('EndReply', f.payload);
      throw new OtaError(
        `CRC mismatch: the node computed CRC-32 0x${hex32(r.crc)} over slot ${slot}'s payload in its EEPROM, the image header says 0x${hex32(header.payloadCrc)}; the slot is marked BAD`,
        'crc-mismatch', 'refused', { nodeCrc: hex32(r.crc), imageCrc: hex32(header.payloadCrc) },
      );
    }
    if (f.payload[0] === Status.NOT_RECEIVING) {
      // Our first END may have been taken and only its reply lost (the node answers a repeated
      // END so): if the slot now holds this image, staged, the END did its work; if BAD, its
      // CRC check failed.
      const s = await this.slot(slot);
      if (s.header.headerCrc === header.headerCrc && s.header.magic !== 0) {
        if (s.state === SlotState.STAGED) return header.payloadCrc;
        if (s.state === SlotState.BAD) {
          throw new OtaError(
            `CRC mismatch: the CRC-32 the node computed over slot ${slot}'s payload in its EEPROM is not the image header's 0x${hex32(header.payloadCrc)}; the slot is marked BAD`,
            'crc-mismatch', 'refused', { imageCrc: hex32(header.payloadCrc) },
          );
        }
      }
    }
    this.check(Msg.END, f, `of slot ${slot}`);
    return decodeStruct('EndReply', f.payload).crc;
  }

  /**
   * TRIAL may copy the running application into a backup slot first: allow for that. BUSY is
   * not retried: the node answers it while a trial runs, and that lasts until the trial is
   * confirmed or reverted, not a few milliseconds.
   */
  async activate(slot: number, mode: ActivateModeName): Promise<void> {
    const info = await this.nodeInfo();
    const timeoutMs = this.session.defaults.timeoutMs + (mode === 'trial' ? Math.ceil(info.appMax / 4) : 0);
    const f = await this.session.request(Msg.ACTIVATE, encodeStruct('ActivateRequest', { slot, mode: activateModes[mode] }), { timeoutMs, busyRetries: 0 });
    if (f.payload[0] === Status.BUSY) throw trialRunning();
    this.check(Msg.ACTIVATE, f, `of slot ${slot}`);
  }

  async confirm(): Promise<void> {
    await this.call(Msg.CONFIRM, new Uint8Array(0), 'StatusReply');
  }

  async erase(slot: number): Promise<void> {
    await this.call(Msg.ERASE, encodeStruct('SlotQuery', { slot }), 'StatusReply', { context: `of slot ${slot}` });
  }

  async reboot(): Promise<void> {
    await this.call(Msg.REBOOT, new Uint8Array(0), 'StatusReply');
  }

  /**
   * Lays out the node's EEPROM afresh (every slot and the boot record are lost). The host plans
   * the layout for the chip INFO reports and sends the whole superblock; the node checks it.
   */
  async format(slotCount?: number): Promise<Superblock> {
    const info = await this.info();
    const sb = planLayout({ name: 'node', size: info.chipSize, pageSize: info.pageSize, bankSize: 64 * 1024 }, slotCount);
    await this.call(Msg.FORMAT, encodeStruct('FormatRequest', { superblock: encodeSuperblock(sb) }), 'StatusReply', { timeoutMs: this.session.defaults.timeoutMs + 500 });
    await this.info(); // the slot count changed
    return sb;
  }

  /** Reads any length of EEPROM in pieces the node accepts. */
  async read(addr: number, length: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const info = await this.nodeInfo();
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

/** The node refuses any activation while a trial runs. */
export function trialRunning(): OtaError {
  return new OtaError(
    'a trial is running on the node: it takes no other activation until the trial is confirmed (the application calls confirm(), or `stageboot confirm`) or reverted by a reset',
    'trial-running', 'refused',
  );
}
