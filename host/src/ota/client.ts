// The node's services as typed calls. Each method sends one request (with the session's
// retries), checks the reply's status and returns the decoded reply; a refusal becomes an
// OtaError that says what the node objected to.
import {
  ActivateMode, FRAME_MAX_PAYLOAD, FRAME_OVERHEAD, Msg, PROTOCOL_VERSION, REPLY_BIT, SlotState, Status,
  decodeStruct, encodeHeader, encodeStruct, hex32, layouts,
  type BootRecord, type Frame, type ImageHeader, type InfoReply, type SlotReply, type StructName,
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

export class OtaClient {
  readonly session: Session;
  private cachedInfo: InfoReply | null = null;

  constructor(readonly link: ByteLink, o: SessionOptions = {}) {
    this.session = new Session(link, o);
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

  async info(o: RetryOptions = {}): Promise<InfoReply> {
    const info = await this.call(Msg.INFO, new Uint8Array(0), 'InfoReply', o);
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

  async slot(slot: number): Promise<SlotReply> {
    return this.call(Msg.SLOT, encodeStruct('SlotQuery', { slot }), 'SlotReply', { context: `of slot ${slot}` });
  }

  async slots(): Promise<SlotReply[]> {
    const info = await this.nodeInfo();
    const out: SlotReply[] = [];
    for (let i = 0; i < info.slotCount; i++) out.push(await this.slot(i));
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
      // Our first END may have been taken and only its reply lost: if the slot now holds this
      // image, staged, the END did its work.
      const s = await this.slot(slot);
      if (s.state === SlotState.STAGED && s.header.headerCrc === header.headerCrc) return header.payloadCrc;
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

  async format(slotCount: number): Promise<void> {
    await this.call(Msg.FORMAT, encodeStruct('FormatRequest', { slotCount }), 'StatusReply', { timeoutMs: this.session.defaults.timeoutMs + 500 });
  }

  /** Reads any length of EEPROM in pieces the node accepts. */
  async read(addr: number, length: number, onProgress?: (done: number) => void): Promise<Uint8Array> {
    const info = await this.nodeInfo();
    const piece = Math.max(1, Math.min(info.maxChunk, 0xff, this.maxFramePayload() - layouts.ReadReply.size));
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const n = Math.min(piece, length - done);
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
