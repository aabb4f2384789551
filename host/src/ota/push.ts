// A whole update: INFO, host-side checks (nothing is sent to a slot unless the image is for
// this chip, fits the flash and the slot, and a trial has room for its backup), slot choice,
// begin (a RECEIVING slot record, or the resume of a partial transfer of the same image from
// the progress the node persisted, then BEGIN), the windowed DATA transfer, end (the node's CRC
// read back from its EEPROM, then the slot STAGED) and optional activation. If the node loses
// the transfer (it rebooted) or the link stalls, a fresh begin resumes it, up to `maxResumes`
// times.
import {
  BootState, CHUNK_MIN, SlotRole, SlotState, decodeStruct, layouts, formatSlotState, planLayout,
  type ImageHeader,
} from './protocol.ts';
import { sleep } from '../transport/clock.ts';
import { chunkSizeOk, trialRunning, type ActivateModeName, type NodeInfo, type OtaClient, type SlotInfo } from './client.ts';
import { OtaError } from './errors.ts';
import { chunkCount, sendChunks, type TransferOptions, type TransferProgress } from './transfer.ts';

export interface PushImage {
  header: ImageHeader;
  payload: Uint8Array;
}

export type PushEvent =
  | { kind: 'info'; info: NodeInfo }
  | { kind: 'format'; slotCount: number }
  | { kind: 'slot'; slot: number; reason: string }
  | { kind: 'begin'; slot: number; resumeChunk: number; resumeBytes: number; chunkSize: number; window: number }
  | { kind: 'retry'; attempt: number; reason: string }
  | { kind: 'already-staged'; slot: number }
  | { kind: 'end'; crc: number }
  | { kind: 'activate'; mode: ActivateModeName };

export interface PushOptions {
  slot?: number;
  chunkSize?: number;
  /** Use fewer frames in flight than the node allows. */
  window?: number;
  activate?: ActivateModeName;
  /** Fresh BEGINs after the node lost the transfer or the link stalled. */
  maxResumes?: number;
  /** Pause before a resume, letting a rebooting node come back. */
  resumeDelayMs?: number;
  /** Send the image even when the slot already holds it, staged. */
  force?: boolean;
  transfer?: Pick<TransferOptions, 'initialRtoMs' | 'minRtoMs' | 'maxRtoMs' | 'stallRetries'>;
  onProgress?: (p: TransferProgress) => void;
  onEvent?: (e: PushEvent) => void;
}

export interface PushResult {
  slot: number;
  chunkSize: number;
  window: number;
  bytes: number;
  /** Bytes the node already held when the push began (resumed transfer). */
  resumedFrom: number;
  resumes: number;
  framesSent: number;
  resentChunks: number;
  timeouts: number;
  /** DATA phase only, on the link's clock. */
  transferMs: number;
  totalMs: number;
  nodeCrc: number;
  alreadyStaged: boolean;
  activated?: ActivateModeName;
}

export async function push(client: OtaClient, image: PushImage, o: PushOptions = {}): Promise<PushResult> {
  const clock = client.session.clock;
  const t0 = clock.now();
  let info = await client.nodeInfo();
  o.onEvent?.({ kind: 'info', info });
  checkImageForNode(image.header, info);
  if (o.activate && info.bootState === BootState.TRIAL) throw trialRunning(); // before sending anything
  // A blank EEPROM (or one laid out for another chip) reports no slots: the node leaves layouts
  // to the host. The checks run on the layout it would get, so a refusal still writes nothing.
  const unformatted = info.slotCount === 0;
  let slots = unformatted ? plannedSlots(info) : await client.slots();
  const { slot, reason } = chooseSlot(slots, image.header, o);
  checkSlot(slots[slot], image.header);
  if (o.activate === 'trial') checkBackupRoom(slots, slot, info);
  if (unformatted) {
    const sb = await client.format();
    info = await client.nodeInfo();
    o.onEvent?.({ kind: 'format', slotCount: sb.slotCount });
    slots = await client.slots();
  }
  o.onEvent?.({ kind: 'slot', slot, reason });

  const chunkSize = pickChunkSize(client, info, o.chunkSize);
  const window = Math.max(1, Math.min(info.window, o.window ?? info.window));
  const result: PushResult = {
    slot, chunkSize, window, bytes: image.payload.length, resumedFrom: 0, resumes: 0, framesSent: 0, resentChunks: 0,
    timeouts: 0, transferMs: 0, totalMs: 0, nodeCrc: 0, alreadyStaged: false,
  };

  if (!o.force && slots[slot].state === SlotState.STAGED && slots[slot].header.headerCrc === image.header.headerCrc) {
    result.alreadyStaged = true;
    result.nodeCrc = image.header.payloadCrc;
    result.resumedFrom = image.payload.length;
    o.onEvent?.({ kind: 'already-staged', slot });
  } else {
    await transferWithResume(client, image, slot, chunkSize, window, o, result);
    result.nodeCrc = await client.end(slot, image.header);
    o.onEvent?.({ kind: 'end', crc: result.nodeCrc });
  }
  if (o.activate) {
    await client.activate(slot, o.activate);
    result.activated = o.activate;
    o.onEvent?.({ kind: 'activate', mode: o.activate });
  }
  result.totalMs = clock.now() - t0;
  return result;
}

async function transferWithResume(client: OtaClient, image: PushImage, slot: number, chunkSize: number, window: number, o: PushOptions, result: PushResult): Promise<void> {
  const maxResumes = o.maxResumes ?? 3;
  for (let attempt = 0; ; attempt++) {
    try {
      const resumeChunk = await client.begin(slot, chunkSize, image.header);
      const n = chunkCount(image.payload.length, chunkSize);
      if (resumeChunk > n) throw new OtaError(`the node wants to resume at chunk ${resumeChunk} of ${n}`, 'bad-reply');
      const resumeBytes = Math.min(resumeChunk * chunkSize, image.payload.length);
      if (attempt === 0) result.resumedFrom = resumeBytes;
      o.onEvent?.({ kind: 'begin', slot, resumeChunk, resumeBytes, chunkSize, window });
      const r = await sendChunks(client.session, { ...o.transfer, payload: image.payload, chunkSize, startChunk: resumeChunk, window, onProgress: o.onProgress });
      result.framesSent += r.framesSent;
      result.resentChunks += r.resentChunks;
      result.timeouts += r.timeouts;
      result.transferMs += r.elapsedMs;
      return;
    } catch (err) {
      const e = err as OtaError;
      const resumable = e instanceof OtaError && (e.code === 'not-receiving' || e.code === 'no-reply');
      if (!resumable || attempt >= maxResumes) throw err;
      result.resumes++;
      o.onEvent?.({ kind: 'retry', attempt: attempt + 1, reason: e.message });
      await sleep(client.session.clock, o.resumeDelayMs ?? 200);
      await client.info(); // the node may have rebooted: make sure it is back before BEGIN
    }
  }
}

/** The empty slots a FORMAT of this node would create (protocol/ts/fs.ts plans them). */
function plannedSlots(info: NodeInfo): SlotInfo[] {
  const sb = planLayout({ name: 'node', size: info.chipSize, pageSize: info.pageSize, bankSize: 64 * 1024 });
  const header = decodeStruct('ImageHeader', new Uint8Array(layouts.ImageHeader.size));
  return Array.from({ length: sb.slotCount }, (_, slot) => ({ slot, state: SlotState.EMPTY, role: 0, capacity: sb.slotSize, progress: 0, header }));
}

export function checkImageForNode(h: ImageHeader, info: NodeInfo): void {
  const sig = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  if (sig(h.signature) !== sig(info.signature)) {
    throw new OtaError(`wrong target: the image is for a chip with signature ${sig(h.signature)}, the node is ${sig(info.signature)}; nothing was sent`, 'wrong-target', 'refused', { image: sig(h.signature), node: sig(info.signature) });
  }
  if (h.loadAddr + h.length > info.appMax) {
    throw new OtaError(`image too big: ${h.length} bytes at 0x${h.loadAddr.toString(16)} end at 0x${(h.loadAddr + h.length).toString(16)}, but the node's bootloader starts at 0x${info.appMax.toString(16)} (${h.loadAddr + h.length - info.appMax} bytes over); nothing was sent`, 'too-big', 'refused', { length: h.length, appMax: info.appMax });
  }
}

const sameImage = (a: ImageHeader, b: ImageHeader) => a.length === b.length && a.payloadCrc === b.payloadCrc && a.buildId === b.buildId;
const busyRoles = SlotRole.PENDING | SlotRole.BACKUP;

/** The user's slot, or: one holding this image (to resume), else a free one, else a reusable one. */
export function chooseSlot(slots: SlotInfo[], h: ImageHeader, o: Pick<PushOptions, 'slot'>): { slot: number; reason: string } {
  if (o.slot !== undefined) {
    if (!Number.isInteger(o.slot) || o.slot < 0 || o.slot >= slots.length) {
      throw new OtaError(`slot ${o.slot} does not exist: the node has ${slots.length} slot${slots.length === 1 ? '' : 's'} (0..${slots.length - 1})`, 'bad-slot', 'refused');
    }
    return { slot: o.slot, reason: 'chosen with --slot' };
  }
  const usable = slots.filter((s) => !(s.role & busyRoles));
  const same = usable.find((s) => (s.state === SlotState.RECEIVING || s.state === SlotState.STAGED) && sameImage(s.header, h));
  if (same) return { slot: same.slot, reason: `holds ${same.state === SlotState.STAGED ? 'this image already' : 'part of this image'}` };
  const free = usable.find((s) => s.state !== SlotState.STAGED && s.state !== SlotState.RECEIVING) ?? usable.find((s) => s.state === SlotState.RECEIVING);
  if (free) return { slot: free.slot, reason: formatSlotState(free.state).toLowerCase() };
  const notCurrent = usable.find((s) => !(s.role & SlotRole.CURRENT));
  if (notCurrent) return { slot: notCurrent.slot, reason: 'holds an older staged image' };
  if (usable.length) return { slot: usable[0].slot, reason: 'holds the running image (which stays in flash)' };
  throw new OtaError('every slot is in use (pending, installing, or the backup of a running trial): confirm or finish it first', 'slot-in-use', 'refused');
}

function checkSlot(s: SlotInfo, h: ImageHeader): void {
  if (s.role & busyRoles) {
    throw new OtaError(`slot ${s.slot} is in use (${s.role & SlotRole.PENDING ? 'pending installation' : 'backup of a running trial'}): nothing was sent`, 'slot-in-use', 'refused');
  }
  if (h.length > s.capacity) {
    throw new OtaError(`image too big: ${h.length} bytes, slot ${s.slot} holds ${s.capacity}; nothing was sent`, 'too-big', 'refused', { length: h.length, capacity: s.capacity });
  }
}

/** A trial saves the running image first: it needs a slot other than the target. */
function checkBackupRoom(slots: SlotInfo[], target: number, info: NodeInfo): void {
  const others = slots.filter((s) => s.slot !== target && !(s.role & SlotRole.PENDING));
  // A slot holding the running image, judged as activate() does (length and payload CRC of the
  // running flash): after a serial upload the boot record's `current` names a stale slot.
  const backup = others.find((s) => s.state === SlotState.STAGED && s.header.length === info.appLen && s.header.payloadCrc === info.appCrc);
  // Otherwise the node copies its flash into a slot that holds nothing worth keeping: never a
  // staged image or a transfer under way.
  const spare = others.some((s) => !(s.role & SlotRole.BACKUP) && s.state !== SlotState.STAGED && s.state !== SlotState.RECEIVING);
  if (backup || spare) return;
  throw new OtaError(
    `no room for a backup: a trial must save the running image in a second slot, and this node has ${slots.length === 1 ? 'only one slot' : 'no other free slot'}. Use --activate now (no automatic revert) or free a slot; nothing was sent`,
    'no-backup-room', 'refused',
  );
}

function pickChunkSize(client: OtaClient, info: NodeInfo, wanted?: number): number {
  // The node takes powers of two that divide its EEPROM page (no chunk straddles a page).
  const linkMax = client.maxFramePayload() - layouts.DataRequest.size;
  const max = Math.min(info.maxChunk, linkMax);
  if (wanted !== undefined) {
    if (wanted > max || !chunkSizeOk(wanted, info)) {
      throw new OtaError(`chunk size ${wanted} is not possible: use a power of two from ${CHUNK_MIN} to ${max} that divides the EEPROM page (${info.pageSize} B; node's maxChunk ${info.maxChunk}, link allows ${linkMax})`, 'bad-chunk', 'refused');
    }
    return wanted;
  }
  let size = 1 << Math.floor(Math.log2(Math.max(1, max)));
  while (size >= CHUNK_MIN && !chunkSizeOk(size, info)) size >>= 1;
  if (size < CHUNK_MIN) throw new OtaError(`the link's MTU leaves room for ${linkMax}-byte chunks, below the minimum of ${CHUNK_MIN}`, 'bad-chunk', 'refused');
  return size;
}

