// Power-cut campaign for the runtime library's side of an update, in the manner of MCUboot's
// "interrupt every flash operation" tests. A node runs BlinkV1 on a 24LC256 (one slot, 64-byte
// pages: the host's format (an invalid superblock, the boot and slot records, the superblock),
// begin's RECEIVING record, the node's progress rewrites alternating between the two copies,
// end's STAGED, activate's PENDING, then the bootloader's INSTALLING and IDLE), and the real host client pushes BlinkV2 with --activate now. The power goes during
// every EEPROM write cycle of that update (a torn write: a seeded random subset of the page
// lands), and just after every record write. Then the power comes back and stays on, and we
// check what a user would: a valid application runs (banner and flash CRC agree), the file
// system shows each record either as it was or as it was being written, and a second push with
// activation brings the node to BlinkV2.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BootState, SlotState, crc32, decodeRecord, decodeSuperblock, layouts, pickRecord, recordAddrs,
  type BootRecord, type SlotRecord, type Superblock,
} from '../../protocol/ts/index.ts';
import { OtaClient } from '../../host/src/ota/client.ts';
import { imageFor, loadPushFile } from '../../host/src/ota/firmware.ts';
import { push, type PushImage, type PushResult } from '../../host/src/ota/push.ts';
import { startSimNode, type RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { armFault } from '../../host/src/sim/faults.ts';
import { openPort } from '../../host/src/transport/open.ts';
import { blink, firmwareMissing } from './ota-helpers.ts';

const CHIP = '24LC256';
const BANNER = /BlinkV([12]) \d+\.\d+\.\d+/;
const HZ = 16e6;
/** Every DATA_SAMPLE-th payload page cut also gets the second push (every record cut does). */
const DATA_SAMPLE = 16;

interface Cut {
  n: number;
  when: 'during' | 'after';
  /** EEPROM page of that write cycle in the fault-free run. */
  page: number;
  record: boolean;
  /** Whether this run also checks that a second push finishes the update. */
  second: boolean;
}

interface Reference {
  images: { 1: PushImage; 2: PushImage };
  sb: Superblock;
  /** Bytes below the first data area: superblock and every record copy. */
  metaEnd: number;
  pages: number[];
}

let ref: Reference;
let nodes = 0;

function newNode(seed: number): RunningSimNode {
  return startSimNode({ name: `powercut-${process.pid}-${nodes++}`, app: blink(1, CHIP), eeprom: CHIP, seed });
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Runs the node with power on until an application prints its banner; its version, or null. */
function bootToApp(sim: RunningSimNode, maxSeconds: number): 1 | 2 | null {
  let text = '';
  const off = sim.node.uart.onData((b) => { text += Buffer.from(b).toString('latin1'); });
  sim.node.runUntil(() => BANNER.test(text), Math.round(maxSeconds * HZ), 16_000);
  off();
  const m = BANNER.exec(text);
  return m ? (Number(m[1]) as 1 | 2) : null;
}

/** The flash holds image v intact: CRC-32 over the image's length at its load address. */
function flashHolds(sim: RunningSimNode, v: 1 | 2): boolean {
  const { header, payload } = ref.images[v];
  return crc32(sim.node.flash.subarray(header.loadAddr, header.loadAddr + header.length)) === crc32(payload);
}

async function pushV2(sim: RunningSimNode, o: { onSettled?: () => void } = {}): Promise<{ client: OtaClient; close: () => Promise<void>; done: Promise<PushResult | Error> }> {
  const link = await openPort(sim.port, { baudRate: 115200 });
  const client = new OtaClient(link);
  const done = push(client, ref.images[2], { activate: 'now' }).then((r) => r, (e: Error) => e).finally(o.onSettled);
  return { client, done, close: async () => { client.close(); await link.close(); } };
}

interface Fs {
  sb: Superblock | null;
  /** Boot record, then slot records: both decoded copies, raw bytes, and the pick. */
  records: { name: string; raw: Uint8Array[]; copies: (BootRecord | SlotRecord | null)[]; pick: BootRecord | SlotRecord | null }[];
}

/** Reads the file system the way the bootloader and library do (protocol/ts/fs.ts). */
function readFs(meta: Uint8Array): Fs {
  const sb = decodeSuperblock(meta.subarray(0, 64));
  const { recPitch, slotCount } = ref.sb; // the layout the push plans; also before FORMAT lands
  const records: Fs['records'] = [];
  for (const which of ['boot' as const, ...Array.from({ length: slotCount }, (_, i) => i)]) {
    const name = which === 'boot' ? 'BootRecord' : 'SlotRecord';
    const size = layouts[name].size;
    const raw = recordAddrs(recPitch, which).map((a) => meta.slice(a, a + size));
    const copies = raw.map((r) => decodeRecord(name, r));
    records.push({ name: which === 'boot' ? 'boot record' : `slot ${which} record`, raw, copies, pick: pickRecord(copies[0], copies[1]).record });
  }
  return { sb, records };
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * After a cut during a write, every record reads as before the write or as the write meant it:
 * a copy that passes its CRC is byte for byte one of the two, and so is the record picked.
 */
function expectOldOrNew(now: Fs, old: Fs, neu: Fs, where: string): 'old' | 'new' {
  const sbOk = [old.sb, neu.sb].some((s) => (s === null ? now.sb === null : now.sb?.crc === s.crc && now.sb.dataStart === s.dataStart));
  expect(sbOk, `${where}: superblock neither old nor new`).toBe(true);
  now.records.forEach((r, i) => {
    for (const c of [0, 1]) {
      if (!r.copies[c]) continue;
      const ok = same(r.raw[c], old.records[i].raw[c]) || same(r.raw[c], neu.records[i].raw[c]);
      expect(ok, `${where}: ${r.name} copy ${'AB'[c]} passes its CRC but is neither the old nor the new bytes`).toBe(true);
    }
    expect([old.records[i].pick, neu.records[i].pick], `${where}: ${r.name} reads as ${JSON.stringify(r.pick)}`).toContainEqual(r.pick);
  });
  const asOld = now.records.every((r, i) => JSON.stringify(r.pick) === JSON.stringify(old.records[i].pick)) && now.sb?.crc === old.sb?.crc;
  return asOld ? 'old' : 'new';
}

interface Outcome {
  torn: number;
  /** For a cut during a metadata write: whether the file system reads as before it or as after it. */
  reads?: 'old' | 'new';
  afterCut: 1 | 2;
  second: 'from-zero' | 'resumed' | 'activate-only' | 'not-run';
}

async function runCut(cut: Cut, seed: number): Promise<Outcome> {
  const where = `cut ${cut.when} EEPROM write ${cut.n} (page ${cut.page})`;
  const sim = newNode(seed);
  try {
    const ee = sim.node.eeprom!;
    // The metadata before and after the write that is cut, as this run wrote it.
    let after = ee.memory.slice(0, ref.metaEnd);
    let before = after;
    const offWrites = ee.onWriteCycle((ev) => {
      if (ev.n > cut.n) return;
      before = after;
      after = ee.memory.slice(0, ref.metaEnd);
    });
    const armed = armFault(sim.node, { eepromWrite: cut.n, when: cut.when });
    const tornBefore = ee.tornWrites;

    // The first push, cut short by the power going (or done, if the cut is the bootloader's).
    let settled = false;
    const first = await pushV2(sim, { onSettled: () => { settled = true; } });
    while (!settled && !armed.fired) await tick();
    await first.close();
    // A push cut short keeps a reply timer, which moves to the wall clock once the port is
    // closed; it fails on its own a moment later ('link-closed'). Not waiting for that keeps
    // the campaign free of wall-clock waits.
    if (settled) await first.done;
    if (!armed.fired) sim.node.runUntil(() => armed.fired, 4 * HZ, 4096);
    offWrites();
    expect(armed.fired, `${where}: the update never reached it`).toBe(true);
    expect(armed.hit, where).toContain(`(page ${cut.page})`); // same write sequence as the fault-free run
    const torn = ee.tornWrites - tornBefore;

    const now = readFs(ee.memory.subarray(0, ref.metaEnd));
    let reads: 'old' | 'new' | undefined;
    if (cut.when === 'after') expect(same(ee.memory.subarray(0, ref.metaEnd), after), `${where}: metadata changed after the write completed`).toBe(true);
    else if (cut.record) reads = expectOldOrNew(now, readFs(before), readFs(after), where);
    else expect(same(ee.memory.subarray(0, ref.metaEnd), before), `${where}: a payload write changed the metadata`).toBe(true);

    // Power back, and it stays on: an application runs, and it is one of the two, intact.
    sim.node.runFor(0.1);
    sim.node.powerOn();
    const v = bootToApp(sim, 6);
    expect(v, `${where}: no application banner with power on (stuck in the bootloader?)`).not.toBeNull();
    expect(flashHolds(sim, v!), `${where}: BlinkV${v} banner but the flash CRC is not BlinkV${v}'s`).toBe(true);
    const up = readFs(ee.memory.subarray(0, ref.metaEnd));
    expect((up.records[0].pick as BootRecord | null)?.state ?? BootState.IDLE, `${where}: the app runs while the boot record is not IDLE`).toBe(BootState.IDLE);
    if (up.sb) for (const r of up.records) expect(r.pick, `${where}: ${r.name} unreadable after recovery`).not.toBeNull();

    const afterCut = v!;
    if (!cut.second) return { torn, reads, afterCut, second: 'not-run' };

    // The host finishes the job: push again (resume, restart or just activate), BlinkV2 runs.
    const second = await pushV2(sim);
    const r = await second.done;
    await second.close();
    expect(r, `${where}: second push failed: ${(r as Error).message}`).not.toBeInstanceOf(Error);
    const res = r as PushResult;
    expect(bootToApp(sim, 6), `${where}: BlinkV2 does not run after the second push`).toBe(2);
    expect(flashHolds(sim, 2), `${where}: BlinkV2 banner but not its flash CRC`).toBe(true);
    const end = readFs(ee.memory.subarray(0, ref.metaEnd));
    const boot = end.records[0].pick as BootRecord;
    expect(boot, where).toMatchObject({ state: BootState.IDLE, current: res.slot });
    const slot = end.records[1 + res.slot].pick as SlotRecord;
    expect(slot.state, where).toBe(SlotState.STAGED);
    expect(slot.header.payloadCrc, where).toBe(ref.images[2].header.payloadCrc);
    return { torn, reads, afterCut, second: res.alreadyStaged ? 'activate-only' : res.resumedFrom > 0 ? 'resumed' : 'from-zero' };
  } finally {
    sim.stop();
  }
}

describe.skipIf(firmwareMissing)(`OTA update under power cuts on the simulated node${firmwareMissing ? ` (skipped: ${firmwareMissing})` : ''}`, () => {
  beforeAll(async () => {
    // The fault-free run: which write cycles the update performs, and the layout it plans.
    const sim = newNode(1);
    try {
      const pages: number[] = [];
      sim.node.eeprom!.onWriteCycle((ev) => pages.push(ev.page));
      expect(bootToApp(sim, 2)).toBe(1);
      const link = await openPort(sim.port, { baudRate: 115200 });
      const client = new OtaClient(link);
      const info = await client.info();
      const images = {
        1: imageFor(await loadPushFile(blink(1, CHIP)), info),
        2: imageFor(await loadPushFile(blink(2, CHIP)), info),
      };
      client.close();
      await link.close();
      ref = { images, sb: null as never, metaEnd: 0, pages };
      const first = await pushV2(sim);
      const r = await first.done;
      await first.close();
      expect(r).not.toBeInstanceOf(Error);
      expect(bootToApp(sim, 4)).toBe(2);
      sim.node.runFor(0.5); // nothing more is written once BlinkV2 runs
      const sb = decodeSuperblock(sim.node.eeprom!.memory.subarray(0, 64));
      expect(sb).not.toBeNull();
      ref.sb = sb!;
      ref.metaEnd = sb!.dataStart;
      expect(flashHolds(sim, 2)).toBe(true);
    } finally {
      sim.stop();
    }
  });

  const counts = { cuts: 0, torn: 0, readOld: 0, readNew: 0, v1: 0, v2: 0, secondPushes: 0, secondFromV1: 0, fromZero: 0, resumed: 0, activateOnly: 0 };
  afterAll(() => {
    if (!counts.cuts) return;
    const records = ref.pages.filter((p) => p * ref.sb.pageSize < ref.metaEnd).length;
    console.log(
      `OTA power-cut campaign (${CHIP}, BlinkV1 -> BlinkV2, push --activate now): ${counts.cuts} cut points = during each of the ` +
      `${ref.pages.length} EEPROM write cycles + just after each of the ${records} record writes; ${counts.torn} torn writes ` +
      `(the ${records} torn metadata writes read as the old state ${counts.readOld}x, as the new ${counts.readNew}x, never anything else). ` +
      `After power-on: ${counts.v1} stayed on BlinkV1, ${counts.v2} reached BlinkV2 (banner and flash CRC agree in all). ` +
      `Second push on ${counts.secondPushes} cut points: ${counts.fromZero} sent the image from chunk 0, ${counts.resumed} resumed, ` +
      `${counts.activateOnly} found it staged and only activated; all ${counts.secondPushes} ended on BlinkV2, ${counts.secondFromV1} of them from BlinkV1 (needed the second push).`,
    );
  });

  it(`cuts power during every EEPROM write of push + activate + install, and just after each record write: a valid app always runs and records read old or new; a second push reaches BlinkV2 (checked after every record-write cut and every ${DATA_SAMPLE}th data-page cut)`, async () => {
    const cuts: Cut[] = [];
    let dataWrites = 0;
    ref.pages.forEach((page, i) => {
      const record = page * ref.sb.pageSize < ref.metaEnd;
      // Cuts during payload pages all look alike to the file system: a sample of them (the first
      // and last included) checks the second push; every record write is checked in full.
      const isLast = ref.pages.slice(i + 1).every((p) => p * ref.sb.pageSize < ref.metaEnd);
      const second = record || dataWrites++ % DATA_SAMPLE === 0 || isLast;
      cuts.push({ n: i + 1, when: 'during', page, record, second });
      if (record) cuts.push({ n: i + 1, when: 'after', page, record, second });
    });
    // Every payload page of BlinkV2 is written once; the rest are the superblock and records.
    const payloadPages = ref.pages.filter((p) => p * ref.sb.pageSize >= ref.metaEnd).length;
    expect(payloadPages).toBe(Math.ceil(ref.images[2].header.length / ref.sb.pageSize));
    expect(ref.pages.length - payloadPages).toBeGreaterThanOrEqual(10);
    expect(cuts.filter((c) => c.second).length).toBeGreaterThanOrEqual(20);
    for (const [i, cut] of cuts.entries()) {
      const o = await runCut(cut, 1000 + i);
      counts.cuts++;
      counts.torn += o.torn;
      counts[o.afterCut === 1 ? 'v1' : 'v2']++;
      if (o.reads === 'old') counts.readOld++;
      if (o.reads === 'new') counts.readNew++;
      if (o.second !== 'not-run') counts.secondPushes++;
      if (o.second !== 'not-run' && o.afterCut === 1) counts.secondFromV1++;
      if (o.second === 'from-zero') counts.fromZero++;
      if (o.second === 'resumed') counts.resumed++;
      if (o.second === 'activate-only') counts.activateOnly++;
    }
    // Every 'during' cut hit a running write cycle, so each tore it.
    expect(counts.torn).toBe(ref.pages.length);
    expect(counts.v1).toBeGreaterThan(0);
    expect(counts.v2).toBeGreaterThan(0);
  }, 400_000); // about 90 s alone on the 2-core machine; more while other suites share the cores
});
