// The protocol definitions the OTA code uses, plus names for its enums in messages.
import { BootResult, BootState, SlotState } from '../../../protocol/ts/index.ts';

export * from '../../../protocol/ts/index.ts';

const nameOf = (table: Record<string, number>) => {
  const names = Object.fromEntries(Object.entries(table).map(([k, v]) => [v, k])) as Record<number, string>;
  return (v: number) => names[v] ?? `0x${v.toString(16).padStart(2, '0')}`;
};

export const formatSlotState = nameOf(SlotState);
/** Boot state 0: the EEPROM holds no valid boot record (e.g. not formatted). */
export const formatBootState = (v: number) => (v === 0 ? 'none (no boot record)' : nameOf(BootState)(v));
export const formatBootResult = nameOf(BootResult);
