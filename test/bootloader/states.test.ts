// The boot record state machine of protocol/STATES.md, path by path, with the real bootloader on
// the simulated node: rejected slots, which record copy counts, the attempts limit, a source that
// went bad while INSTALLING, the 24LC1025 bank bit, and a trial without a backup.
import { describe, expect, it } from 'vitest';
import {
  BootFlag, BootResult, BootState, NO_SLOT, SlotState, decodeRecord, encodeRecord, makeHeader, recordAddrs, type BootRecord,
} from '../../protocol/ts/index.ts';
import type { Eeprom24Model } from '../../host/src/sim/index.ts';
import { SIG_328P, appImage, bootRecord, makeNode, readBoot, runUntilApp, stage, writeBoot } from './node.ts';
import { STK, Stk500 } from './stk500.ts';

type Node = ReturnType<typeof makeNode>;

/** Both boot record copies as the EEPROM holds them (null: not valid). */
function copies(t: Node): { a: BootRecord | null; b: BootRecord | null } {
  const { a, b } = readBoot(t.eeprom, t.layout);
  return { a: decodeRecord('BootRecord', a), b: decodeRecord('BootRecord', b) };
}

/** The newest valid copy, by the runtime library's rule. */
function newest(t: Node): BootRecord {
  const { a, b } = copies(t);
  if (a && (!b || ((a.seq - b.seq) & 0xffff) - 1 < 0x7fff)) return a;
  return b!;
}

function summary(r: BootRecord) {
  return { state: r.state, slot: r.slot, current: r.current, backup: r.backup, result: r.result };
}

function node(model: Eeprom24Model = '24LC256') {
  const t = makeNode({ model, app: appImage('v1', 16) });
  return t;
}

/** The bootloader answers STK500 sync: it stayed in (or went to) the serial loop. */
function answersSync(t: Node): boolean {
  t.take();
  return new Stk500(t.node).cmd([STK.GET_SYNC]).join() === [STK.INSYNC, STK.OK].join();
}

describe('PENDING slots that fail a check: back to IDLE, flash untouched', () => {
  it.each([
    ['not STAGED', BootResult.NOT_STAGED, (t: Node) => stage(t.eeprom, t.layout, 0, appImage('v2', 16), { state: SlotState.RECEIVING })],
    ['length 0', BootResult.TOO_BIG, (t: Node) => stage(t.eeprom, t.layout, 0, appImage('v2', 16), { header: { length: 0 } })],
    ['no valid slot record', BootResult.BAD_HEADER, (t: Node) => {
      const [a] = recordAddrs(t.layout.pitch, 0);
      stage(t.eeprom, t.layout, 0, appImage('v2', 16));
      t.eeprom.memory[a + 30] ^= 0x01; // copy A torn; copy B was never written
    }],
  ])('%s', (_n, result, prepare) => {
    const t = node();
    prepare(t);
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0, current: 5 });
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(1);
    expect(t.node.flashOps).toBe(0);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, current: 5, result });
  });
});

describe('which record copy counts: the newest valid one (two copies, seq, CRC)', () => {
  it('boot record: copy B is newer; the writes then alternate, A first', () => {
    const t = node();
    stage(t.eeprom, t.layout, 0, appImage('v2', 16));
    writeBoot(t.eeprom, t.layout, { seq: 5, state: BootState.IDLE, current: 7 }, 0);
    writeBoot(t.eeprom, t.layout, { seq: 6, state: BootState.PENDING, slot: 0, current: 7 }, 1);
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    const { a, b } = copies(t);
    // INSTALLING (seq 7) went to A, then IDLE (seq 8) to B
    expect([a!.seq, a!.state, b!.seq, b!.state]).toEqual([7, BootState.INSTALLING, 8, BootState.IDLE]);
    expect(summary(b!)).toMatchObject({ current: 0, result: BootResult.INSTALLED });
  });

  it('boot record: the newer copy is torn, so the older one counts', () => {
    const t = node();
    stage(t.eeprom, t.layout, 0, appImage('v2', 16));
    writeBoot(t.eeprom, t.layout, { seq: 5, state: BootState.PENDING, slot: 0, current: 7 }, 0);
    writeBoot(t.eeprom, t.layout, { seq: 6, state: BootState.IDLE, current: 7 }, 1);
    t.eeprom.memory[recordAddrs(t.layout.pitch, 'boot')[1] + 5] ^= 0x40; // B: CRC no longer holds
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, current: 0, result: BootResult.INSTALLED });
  });

  it('boot record: seq wraps (0x0000 is newer than 0xFFFF)', () => {
    const t = node();
    stage(t.eeprom, t.layout, 0, appImage('v2', 16));
    writeBoot(t.eeprom, t.layout, { seq: 0xffff, state: BootState.IDLE, current: 7 }, 0);
    writeBoot(t.eeprom, t.layout, { seq: 0x0000, state: BootState.PENDING, slot: 0, current: 7 }, 1);
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    expect(newest(t).seq).toBe(2);
  });

  it('boot record: a valid CRC with an unknown state is not trusted', () => {
    const t = node();
    stage(t.eeprom, t.layout, 0, appImage('v2', 16));
    writeBoot(t.eeprom, t.layout, { seq: 5, state: BootState.IDLE, current: 7 }, 0);
    writeBoot(t.eeprom, t.layout, { seq: 6, state: 9 as BootState, slot: 0, current: 7 }, 1);
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 1)).toBe(1);
    expect(t.node.flashOps).toBe(0);
  });

  it.each([
    ['copy B (STAGED) is newer than A (RECEIVING)', [SlotState.RECEIVING, 3], [SlotState.STAGED, 4]],
    ['copy A (STAGED) is newer than B (RECEIVING)', [SlotState.STAGED, 4], [SlotState.RECEIVING, 3]],
  ])('slot record: %s', (_n, [sa, qa], [sb, qb]) => {
    const t = node();
    const img = appImage('v2', 16);
    const h = stage(t.eeprom, t.layout, 0, img);
    const rec = (state: number, seq: number) => encodeRecord('SlotRecord', {
      seq, state, reserved: 0, dataAddr: t.layout.sb.dataStart, capacity: t.layout.sb.slotSize, progress: img.length, header: h, crc: 0,
    } as never);
    const [a, b] = recordAddrs(t.layout.pitch, 0);
    t.eeprom.memory.set(rec(sa, qa), a);
    t.eeprom.memory.set(rec(sb, qb), b);
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0, current: 7 });
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(2);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, current: 0, result: BootResult.INSTALLED });
  });
});

describe('installs that cannot complete (24LC512: slot 0 the new image, slot 1 the backup)', () => {
  function withBackup(backup: number) {
    const t = makeNode({ model: '24LC512', app: appImage('v1', 16) });
    stage(t.eeprom, t.layout, 0, appImage('v2', 16));
    stage(t.eeprom, t.layout, 1, appImage('v1', 16));
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 0, current: 1, backup });
    return t;
  }

  /**
   * A flash bit stuck at 1, in a page where the images differ (so every install writes it) and
   * at a byte where both images have that bit 0: every read-back fails.
   */
  function stuckBit(t: Node, images: Uint8Array[]): { writes: number } {
    const [x, y] = images as [Uint8Array, Uint8Array];
    const page = [...Array(Math.ceil(x.length / 128)).keys()].find((p) => x.subarray(p * 128, p * 128 + 128).some((v, i) => v !== y[p * 128 + i]))!;
    const at = page * 128 + [...Array(128).keys()].find((i) => ((x[page * 128 + i]! | y[page * 128 + i]!) & 1) === 0)!;
    const seen = { writes: 0 };
    // the bit reads 1 from the cycle after the write completes, as a stuck cell would: the
    // bootloader reads a page back as soon as its write is done
    t.node.onFlashOp((ev) => {
      if (ev.kind === 'write' && ev.page === page) {
        seen.writes++;
        t.node.scheduler.schedule(ev.doneAt + 1, () => { t.node.flash[at] |= 1; });
      }
    });
    return seen;
  }

  it('read-back fails 3 times: the backup is installed, fails 3 times too: page 0 erased, IDLE, serial bootloader', () => {
    const t = withBackup(1);
    const seen = stuckBit(t, [appImage('v2', 16), appImage('v1', 16)]);
    t.node.powerOn();
    t.node.runUntil(() => false, 16e6 * 6);
    expect(seen.writes).toBe(6); // SB_INSTALL_MAX_ATTEMPTS (3) for each image
    expect(summary(newest(t))).toMatchObject({
      state: BootState.IDLE, current: NO_SLOT, backup: NO_SLOT, result: BootResult.VERIFY_FAILED,
    });
    expect([t.node.flash[0], t.node.flash[1]]).toEqual([0xff, 0xff]);
    expect(answersSync(t)).toBe(true);
  });

  it('INSTALLING, and the source went bad: the backup is installed (result BAD_CRC)', () => {
    const t = withBackup(1);
    writeBoot(t.eeprom, t.layout, { seq: 2, state: BootState.INSTALLING, slot: 0, current: 1, backup: 1 });
    t.eeprom.memory[t.layout.sb.dataStart + 50] ^= 0xff;
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 3)).toBe(1);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, slot: 1, current: 1, backup: NO_SLOT, result: BootResult.BAD_CRC });
  });

  it('INSTALLING, the source went bad, no backup: page 0 erased, IDLE with no application, serial bootloader', () => {
    const t = withBackup(NO_SLOT);
    writeBoot(t.eeprom, t.layout, { seq: 2, state: BootState.INSTALLING, slot: 0, current: 1, backup: NO_SLOT });
    t.eeprom.memory[t.layout.sb.dataStart + 50] ^= 0xff;
    t.node.powerOn();
    t.node.runFor(1);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, current: NO_SLOT, result: BootResult.BAD_CRC });
    expect([t.node.flash[0], t.node.flash[1]]).toEqual([0xff, 0xff]);
    expect(answersSync(t)).toBe(true);
    // and the next reset finds no application: it stays there
    t.node.reset('power');
    t.node.runFor(1.5);
    expect(answersSync(t)).toBe(true);
  });
});

describe('other layouts and states', () => {
  it('24LC1025: a slot whose data lies above 64 KiB (the block bit of the device address)', () => {
    const t = makeNode({ model: '24LC1025', app: appImage('v1', 16) });
    expect(t.layout.sb.dataStart + 3 * t.layout.sb.slotSize).toBeGreaterThan(0x10000);
    stage(t.eeprom, t.layout, 3, appImage('v3', 16));
    writeBoot(t.eeprom, t.layout, { state: BootState.PENDING, slot: 3, current: NO_SLOT });
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 3)).toBe(3);
    expect(summary(newest(t))).toMatchObject({ state: BootState.IDLE, current: 3, result: BootResult.INSTALLED });
  });

  it('TRIAL without a backup (a hand-made record) counts as confirmed: the application runs, nothing is written', () => {
    const t = node();
    writeBoot(t.eeprom, t.layout, { seq: 4, state: BootState.TRIAL, slot: 0, current: 0, backup: NO_SLOT, flags: BootFlag.TRIAL });
    const before = t.eeprom.writeCycles;
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 1)).toBe(1);
    expect(t.eeprom.writeCycles).toBe(before);
    expect(t.node.flashOps).toBe(0);
  });

  it('an image built for another chip is refused even when its CRCs are right', () => {
    const t = node();
    const img = appImage('v2', 16);
    const h = makeHeader(img, { signature: Uint8Array.of(0x1e, 0x95, 0x14) });
    stage(t.eeprom, t.layout, 0, img, { header: h });
    writeBoot(t.eeprom, t.layout, bootRecord({ state: BootState.PENDING, slot: 0 }));
    t.node.powerOn();
    expect(runUntilApp(t.node, t.take, 2)).toBe(1);
    expect(newest(t).result).toBe(BootResult.WRONG_TARGET);
    expect(SIG_328P).toEqual(Uint8Array.of(0x1e, 0x95, 0x0f));
  });
});
