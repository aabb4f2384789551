// Words for what the node reports: INFO (with the part's flash figures and the boot record's
// state, current slot and last result, which the host reads), slot records, the boot record.
import { NO_SLOT, SlotRole, type BootRecord, type ImageHeader } from '../../../protocol/ts/index.ts';
import type { NodeInfo, SlotInfo } from './client.ts';
import { formatBootResult, formatBootState, formatSlotState } from './protocol.ts';

export const sigText = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');
export const hexWord = (n: number) => '0x' + (n >>> 0).toString(16).toUpperCase().padStart(8, '0');
export const versionText = (v: number) => `${v >>> 16}.${(v >>> 8) & 0xff}.${v & 0xff}`;
export const slotText = (s: number) => (s === NO_SLOT ? 'none' : String(s));

export function infoJson(i: NodeInfo): Record<string, unknown> {
  return {
    protocol: i.protocol, signature: sigText(i.signature), bootState: formatBootState(i.bootState), lastResult: formatBootResult(i.result),
    bootloaderVersion: i.blVersion === 0xffff ? null : `${i.blVersion >> 8}.${i.blVersion & 0xff}`,
    flashSize: i.flashSize, appMax: i.appMax, eeprom: { size: i.chipSize, pageSize: i.pageSize, formatted: i.slotCount !== 0 },
    slotCount: i.slotCount, current: i.current === NO_SLOT ? null : i.current, maxChunk: i.maxChunk, window: i.window,
    app: { version: versionText(i.appVersion), versionRaw: i.appVersion, crc: hexWord(i.appCrc), length: i.appLen },
  };
}

export function infoText(i: NodeInfo): string {
  return [
    `signature     ${sigText(i.signature)}`,
    `bootloader    ${i.blVersion === 0xffff ? 'none found' : `v${i.blVersion >> 8}.${i.blVersion & 0xff}`}, application area ${i.appMax} of ${i.flashSize} bytes`,
    `application   v${versionText(i.appVersion)}, ${i.appLen} bytes, CRC ${hexWord(i.appCrc)}, from slot ${slotText(i.current)}`,
    `boot state    ${formatBootState(i.bootState)} (last activation: ${formatBootResult(i.result)})`,
    `EEPROM        ${i.chipSize} bytes, ${i.pageSize}-byte pages, ${i.slotCount ? `${i.slotCount} slot${i.slotCount === 1 ? '' : 's'}` : 'not formatted (push formats it; or `stageboot format`)'}`,
    `transfer      chunks up to ${i.maxChunk} bytes, window ${i.window}, protocol v${i.protocol}`,
  ].join('\n');
}

export function rolesText(role: number): string[] {
  const r: string[] = [];
  if (role & SlotRole.CURRENT) r.push('current');
  if (role & SlotRole.PENDING) r.push('pending');
  if (role & SlotRole.BACKUP) r.push('backup');
  return r;
}

function headerJson(h: ImageHeader): Record<string, unknown> {
  return { length: h.length, payloadCrc: hexWord(h.payloadCrc), appVersion: versionText(h.appVersion), buildId: hexWord(h.buildId), signature: sigText(h.signature), loadAddr: h.loadAddr };
}

export function slotJson(s: SlotInfo): Record<string, unknown> {
  const hasImage = s.header.magic !== 0 && s.header.length > 0;
  return { slot: s.slot, state: formatSlotState(s.state), roles: rolesText(s.role), capacity: s.capacity, progress: s.progress, image: hasImage ? headerJson(s.header) : null };
}

export function slotLine(s: SlotInfo): string {
  const j = slotJson(s);
  const img = j.image as Record<string, unknown> | null;
  const roles = (j.roles as string[]).length ? ` [${(j.roles as string[]).join(', ')}]` : '';
  const what = img ? ` v${img.appVersion}, ${img.length} bytes, CRC ${img.payloadCrc}${s.progress < s.header.length ? `, ${s.progress} received` : ''}` : '';
  return `slot ${s.slot}: ${String(j.state).padEnd(9)}${what}${roles} (capacity ${s.capacity})`;
}

export function bootJson(b: BootRecord): Record<string, unknown> {
  return { state: formatBootState(b.state), trial: (b.flags & 1) !== 0, slot: b.slot === NO_SLOT ? null : b.slot, current: b.current === NO_SLOT ? null : b.current, backup: b.backup === NO_SLOT ? null : b.backup, result: formatBootResult(b.result), attempts: b.attempts };
}
