// Builds a whole EEPROM image (what a chip programmer writes): a superblock, the boot record,
// and images placed in slots as STAGED, optionally one of them pending activation.
import {
  ActivateMode, BootResult, BootState, NO_SLOT, SlotState,
  type BootRecord, type ImageHeader, type SlotRecord, type Superblock,
} from '../../../protocol/generated/protocol.ts';
import type { ChipGeometry } from '../../../protocol/ts/chips.ts';
import { encodeRecord, encodeSuperblock, planLayout, recordAddrs, slotDataAddr } from '../../../protocol/ts/fs.ts';
import type { Image } from '../../../protocol/ts/image.ts';
import { ProtocolError } from '../../../protocol/ts/struct.ts';

export interface EepromBuild {
  chip: ChipGeometry;
  slotCount?: number;
  /** Images by slot number. */
  images: Map<number, Image>;
  /** Slot to install at the next reset, and how. */
  activate?: { slot: number; mode: ActivateMode };
}

export interface EepromLayoutInfo {
  superblock: Superblock;
  bytes: Uint8Array;
  slots: { slot: number; dataAddr: number; capacity: number; image: ImageHeader | null }[];
}

const EMPTY_HEADER: ImageHeader = {
  magic: 0, format: 0, headerSize: 0, flags: 0, signature: new Uint8Array(3), reserved: 0,
  loadAddr: 0, length: 0, payloadCrc: 0, appVersion: 0, buildId: 0, headerCrc: 0,
};

export function buildEeprom(b: EepromBuild): EepromLayoutInfo {
  const sb = planLayout(b.chip, b.slotCount);
  const out = new Uint8Array(b.chip.size).fill(0xff);
  out.set(encodeSuperblock(sb), 0);
  const slots: EepromLayoutInfo['slots'] = [];
  for (let slot = 0; slot < sb.slotCount; slot++) {
    const img = b.images.get(slot) ?? null;
    const dataAddr = slotDataAddr(sb, slot);
    if (img && img.payload.length > sb.slotSize) {
      throw new ProtocolError(`image for slot ${slot} is ${img.payload.length} bytes; a slot of this ${b.chip.name} layout holds ${sb.slotSize}`, 'too-big');
    }
    if (img) out.set(img.payload, dataAddr);
    const rec: SlotRecord = {
      seq: 1, state: img ? SlotState.STAGED : SlotState.EMPTY, reserved: 0, dataAddr, capacity: sb.slotSize,
      progress: img ? img.payload.length : 0, header: img ? img.header : EMPTY_HEADER, crc: 0,
    };
    out.set(encodeRecord('SlotRecord', rec), recordAddrs(sb.recPitch, slot)[0]);
    slots.push({ slot, dataAddr, capacity: sb.slotSize, image: img?.header ?? null });
  }
  for (const slot of b.images.keys()) {
    if (slot < 0 || slot >= sb.slotCount) throw new ProtocolError(`slot ${slot} does not exist: this layout has slots 0 to ${sb.slotCount - 1}`, 'bad-slot');
  }
  out.set(encodeRecord('BootRecord', bootRecord(b)), recordAddrs(sb.recPitch, 'boot')[0]);
  return { superblock: sb, bytes: out, slots };
}

function bootRecord(b: EepromBuild): BootRecord {
  const rec: BootRecord = {
    seq: 1, state: BootState.IDLE, flags: 0, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT,
    result: BootResult.NONE, attempts: 0, reserved: new Uint8Array(3), crc: 0,
  };
  if (!b.activate) return rec;
  const { slot, mode } = b.activate;
  if (!b.images.has(slot)) throw new ProtocolError(`cannot activate slot ${slot}: no image is placed in it`, 'bad-slot');
  if (mode === ActivateMode.TRIAL) {
    throw new ProtocolError('a trial needs the running application as a backup, which only the node itself can save; use --activate now', 'no-backup');
  }
  return { ...rec, state: BootState.PENDING, slot };
}
