// What the host refuses, what it reports, and how requests are retried.
import { describe, expect, it } from 'vitest';
import { BootState, Msg, NO_SLOT, SlotState, Status, crc32, encodeFrame, makeHeader, type ImageHeader } from '../../protocol/ts/index.ts';
import { VirtualClock } from '../../host/src/transport/clock.ts';
import { loopbackPair } from '../../host/src/transport/loopback.ts';
import { OtaClient, WAKE_MS } from '../../host/src/ota/client.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { push } from '../../host/src/ota/push.ts';
import { sendChunks } from '../../host/src/ota/transfer.ts';
import { image, payload, rig } from './helpers.ts';

async function failure(p: Promise<unknown>, clock: VirtualClock): Promise<OtaError> {
  const e = await clock.run(p).then(() => null, (err) => err);
  expect(e).toBeInstanceOf(OtaError);
  return e as OtaError;
}

/** Runs `p`, expecting a refusal, and checks that the node's EEPROM did not change. */
async function refusedUnwritten(r: ReturnType<typeof rig>, p: () => Promise<unknown>): Promise<OtaError> {
  const before = r.node.memory.slice();
  const writes = r.node.writes;
  const e = await failure(p(), r.clock);
  expect(Buffer.compare(r.node.memory, before)).toBe(0);
  expect(r.node.writes).toBe(writes);
  return e;
}

const sent = (r: ReturnType<typeof rig>, type: number) => r.node.requests.filter((t) => t === type).length;

describe('refusals before anything is written', () => {
  it('refuses an image for another chip without a BEGIN', async () => {
    const r = rig();
    const e = await refusedUnwritten(r, () => push(r.client, image(1000, 1, [0x1e, 0x98, 0x01])));
    expect(e.code).toBe('wrong-target');
    expect(e.message).toMatch(/1E 98 01.*1E 95 0F/);
    expect(r.node.begins).toBe(0);
  });

  it('refuses an image larger than the flash below the bootloader (the part\'s flash, from its signature, less the boot section)', async () => {
    const r = rig();
    const e = await refusedUnwritten(r, () => push(r.client, image(0x7c00 + 1)));
    expect(e.code).toBe('too-big');
    expect(e.message).toMatch(/bootloader starts at 0x7c00 \(1 bytes over\)/);
    expect(r.node.begins).toBe(0);
    // An ATmega1284P (128 KiB of flash) takes more than a 328P would.
    const big = rig({ node: { signature: [0x1e, 0x97, 0x05], chipSize: 131072, slots: 1 } });
    const info = await big.clock.run(big.client.info());
    expect(info).toMatchObject({ flashSize: 131072, appMax: 131072 - 1024 });
  });

  it('refuses an image larger than the slot', async () => {
    const r = rig({ node: { capacity: 4096 } });
    const e = await refusedUnwritten(r, () => push(r.client, image(5000)));
    expect(e.code).toBe('too-big');
    expect(r.node.begins).toBe(0);
  });

  it('refuses a trial on a one-slot node before sending, suggesting --activate now', async () => {
    const r = rig({ node: { slots: 1 } });
    const e = await refusedUnwritten(r, () => push(r.client, image(1000), { activate: 'trial' }));
    expect(e.code).toBe('no-backup-room');
    expect(e.message).toMatch(/--activate now/);
    expect(r.node.begins).toBe(0);
  });

  it('refuses a slot that is pending installation', async () => {
    const r = rig();
    r.node.setBoot({ state: BootState.PENDING, slot: 1 }); // as an activation leaves it
    const e = await refusedUnwritten(r, () => push(r.client, image(1000), { slot: 1 }));
    expect(e.code).toBe('slot-in-use');
    expect(r.node.begins).toBe(0);
  });

  it('checks everything on an unformatted node before formatting it', async () => {
    const r = rig({ node: { formatted: false } });
    const e = await refusedUnwritten(r, () => push(r.client, image(1000, 1, [0x1e, 0x98, 0x01])));
    expect(e.code).toBe('wrong-target');
    expect(r.node.memory.every((b) => b === 0xff)).toBe(true);
  });
});

// Protocol 1's node refused these itself; in protocol 2 the host does, from the records, with
// the same errors, and sends nothing that writes.
describe('the host refuses what the node used to refuse, writing nothing', () => {
  const begin = (r: ReturnType<typeof rig>, slot: number, chunk: number, h: ImageHeader) => refusedUnwritten(r, () => r.client.begin(slot, chunk, h));

  it('BEGIN: chunk size, header, target, size, slot', async () => {
    const r = rig();
    const h = image(1000).header;
    for (const [slot, chunk, header, code, status] of [
      [0, 48, h, 'bad-frame', 'BAD_FRAME'], // not a power of two
      [0, 8, h, 'bad-frame', 'BAD_FRAME'], // below CHUNK_MIN
      [0, 256, h, 'bad-frame', 'BAD_FRAME'], // above maxChunk
      [0, 64, { ...h, headerCrc: h.headerCrc ^ 1 }, 'bad-header', 'BAD_HEADER'],
      [0, 64, image(1000, 2, [0x1e, 0x95, 0x14]).header, 'wrong-target', 'WRONG_TARGET'],
      [0, 64, image(0x7c01).header, 'too-big', 'TOO_BIG'], // above appMax: 32 KiB less the 1 KiB boot section
      [0, 64, makeHeader(new Uint8Array(100), { signature: Uint8Array.of(0x1e, 0x95, 0x0f), loadAddr: 0x100 }), 'too-big', 'TOO_BIG'],
      [2, 64, h, 'bad-slot', 'BAD_SLOT'],
    ] as const) {
      const e = await begin(r, slot, chunk, header);
      expect(e.code).toBe(code);
      expect(e.message).toMatch(new RegExp(`^BEGIN into slot ${slot} refused: .*\\(${status}\\)$`));
    }
    expect(sent(r, Msg.RECORD) + sent(r, Msg.BEGIN)).toBe(0);
  });

  it('BEGIN: a slot larger than its data area, a pending slot, a trial\'s backup', async () => {
    const r = rig({ node: { capacity: 4096 } });
    expect((await begin(r, 0, 64, image(4097).header)).code).toBe('too-big');
    r.node.setBoot({ state: BootState.INSTALLING, slot: 0 });
    expect((await begin(r, 0, 64, image(1000).header)).code).toBe('slot-in-use');
    r.node.setBoot({ state: BootState.TRIAL, slot: 0, current: 0, backup: 1 });
    expect((await begin(r, 1, 64, image(1000).header)).code).toBe('slot-in-use');
    expect(sent(r, Msg.RECORD) + sent(r, Msg.BEGIN)).toBe(0);
  });

  it('BEGIN on an unformatted node', async () => {
    const r = rig({ node: { formatted: false } });
    expect((await begin(r, 0, 64, image(1000).header)).code).toBe('not-formatted');
  });

  it('ACTIVATE: a slot not staged, a running trial, a trial without room for its backup', async () => {
    const r = rig({ node: { slots: 1 } });
    const e = await refusedUnwritten(r, () => r.client.activate(0, 'now'));
    expect(e.code).toBe('not-staged');
    expect(e.message).toMatch(/^ACTIVATE of slot 0 refused: the slot does not hold a complete, checked image \(NOT_STAGED\)$/);
    const img = image(1000);
    await r.clock.run(push(r.client, img));
    const nb = await refusedUnwritten(r, () => r.client.activate(0, 'trial'));
    expect(nb.code).toBe('no-backup-room');
    expect(nb.message).toMatch(/use --activate now/);
    expect((await refusedUnwritten(r, () => r.client.activate(1, 'now'))).code).toBe('bad-slot');
    r.node.setBoot({ state: BootState.TRIAL, slot: 0, current: 0, backup: NO_SLOT });
    expect((await refusedUnwritten(r, () => r.client.activate(0, 'later'))).code).toBe('trial-running');
    expect(sent(r, Msg.REBOOT) + sent(r, Msg.BACKUP)).toBe(0);
  });

  it('ERASE: a pending slot and a running trial\'s backup', async () => {
    const r = rig();
    await r.clock.run(push(r.client, image(1000), { slot: 1 }));
    r.node.setBoot({ state: BootState.PENDING, slot: 1 });
    const e = await refusedUnwritten(r, () => r.client.erase(1));
    expect(e.code).toBe('slot-in-use');
    expect(e.message).toMatch(/^ERASE of slot 1 refused: the slot is in use/);
    r.node.setBoot({ state: BootState.TRIAL, slot: 0, current: 0, backup: 1 });
    expect((await refusedUnwritten(r, () => r.client.erase(1))).code).toBe('slot-in-use');
    expect(r.node.slot(1).state).toBe(SlotState.STAGED);
  });
});

describe('CRC at the end', () => {
  it('reports a CRC mismatch with both CRCs, and the slot is BAD', async () => {
    const r = rig();
    r.node.corruptOnWrite = 777;
    const img = image(3000);
    const e = await failure(push(r.client, img), r.clock);
    expect(e.code).toBe('crc-mismatch');
    expect(e.message).toMatch(/CRC mismatch/);
    expect(e.details.imageCrc).toBe(img.header.payloadCrc.toString(16).toUpperCase().padStart(8, '0'));
    const bad = img.payload.slice();
    bad[777] ^= 1;
    expect(e.details.nodeCrc).toBe(crc32(bad).toString(16).toUpperCase().padStart(8, '0'));
    expect(r.node.slot(0).state).toBe(SlotState.BAD);
  });

  it('after a lost CRC reply asks again (CRC is idempotent) and stages the image', async () => {
    const r = rig();
    r.node.loseReply.set(Msg.CRC, 1);
    const img = image(2000);
    const res = await r.clock.run(push(r.client, img));
    expect(res.nodeCrc).toBe(img.header.payloadCrc);
    expect(sent(r, Msg.CRC)).toBe(2);
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.STAGED, progress: 2000 });
  });

  it('after a lost RECORD reply finds its own write (STALE, then the record says STAGED)', async () => {
    const r = rig();
    const img = image(2000);
    await r.clock.run(r.client.begin(0, 128, img.header));
    r.node.loseReply.set(Msg.RECORD, 1);
    const seq = (await r.clock.run(r.client.slotRecord(0))).seq;
    await r.clock.run(sendAll(r, img));
    await r.clock.run(r.client.end(0, img.header));
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.STAGED, progress: 2000 });
    expect((await r.clock.run(r.client.slotRecord(0))).seq).toBe(seq + 1); // written once
    expect(sent(r, Msg.RECORD)).toBe(3); // begin's, end's, and end's again (answered STALE)
  });
});

async function sendAll(r: ReturnType<typeof rig>, img: { payload: Uint8Array }): Promise<void> {
  await sendChunks(r.client.session, { payload: img.payload, chunkSize: 128, startChunk: 0, window: 4 });
}

describe('other refusals from the node', () => {
  it('reads across a 64 KiB boundary in pieces that do not cross it', async () => {
    const r = rig({ node: { chipSize: 131072 } });
    r.node.memory.set(payload(300, 3), 0x10000 - 100);
    const data = await r.clock.run(r.client.read(0x10000 - 100, 300));
    expect(data).toEqual(payload(300, 3));
    expect(r.node.wrappedReads).toBe(0);
  });

  it('refuses a read beyond the EEPROM without sending it (the node would wrap around)', async () => {
    const r = rig(); // a 64 KiB EEPROM
    await r.clock.run(r.client.info());
    const reads = sent(r, Msg.READ);
    const e = await failure(r.client.read(0xfff0, 0x20), r.clock);
    expect(e.code).toBe('bad-range');
    expect(e.message).toMatch(/^READ at 0xfff0 .*refused: address or chunk out of range \(BAD_RANGE\)$/);
    expect(sent(r, Msg.READ)).toBe(reads);
    expect(await r.clock.run(r.client.read(0xfff0, 0x10))).toEqual(r.node.memory.subarray(0xfff0));
    expect(r.node.wrappedReads).toBe(0);
  });

  it('retries a BUSY node and then succeeds', async () => {
    const r = rig();
    r.node.busy.set(Msg.BEGIN, 3);
    const res = await r.clock.run(push(r.client, image(1000)));
    expect(r.node.busyReplies).toBe(3);
    expect(res.bytes).toBe(1000);
  });

  it('says the node is busy when it stays busy', async () => {
    const r = rig({ session: { busyRetries: 2 } });
    r.node.busy.set(Msg.INFO, 10);
    const e = await failure(r.client.info(), r.clock);
    expect(e.code).toBe('node-busy');
  });

  it('refuses a node that speaks another protocol version', async () => {
    const clock = new VirtualClock();
    const [host, nodeEnd] = loopbackPair({ clock });
    nodeEnd.onData(() => nodeEnd.write(encodeFrame({ type: Msg.INFO | 0x80, seq: 1, payload: Uint8Array.of(Status.OK, 1, ...new Uint8Array(34)) })));
    const e = await failure(new OtaClient(host, { clock, retries: 0 }).info(), clock);
    expect(e.code).toBe('protocol-version');
    expect(e.message).toMatch(/protocol version 1; this host speaks 2/);
  });
});

describe('no reply', () => {
  it('says which request went unanswered, on which port, after how many tries', async () => {
    const clock = new VirtualClock();
    const [host] = loopbackPair({ clock, names: ['/dev/ttyUSB7', 'nobody'] });
    const client = new OtaClient(host, { clock, retries: 2, timeoutMs: 300 });
    const e = await failure(client.info(), clock);
    expect(e.kind).toBe('link');
    expect(e.code).toBe('no-reply');
    expect(e.message).toMatch(/no reply to INFO from \/dev\/ttyUSB7 after 3 attempts \(300 ms each\)/);
    expect(clock.now()).toBe(900);
  });

  it('waits out a board that is still in its bootloader after the port opened (auto-reset)', async () => {
    // The node ignores everything for 2.5 s, as an Arduino does while its bootloader listens.
    const r = rig({ faults: { plan: (f, dir) => (dir === 'toNode' && r.clock.now() < 2500 ? 'drop' : undefined) } });
    const info = await r.clock.run(r.client.info());
    expect(info.slotCount).toBe(2);
    expect(r.clock.now()).toBeGreaterThanOrEqual(2500);
    expect(r.clock.now()).toBeLessThan(WAKE_MS + 1000);
  });

  it('gives up as told when the caller sets the retries, even on the first INFO', async () => {
    const r = rig({ session: { retries: 1, timeoutMs: 300 }, faults: { plan: (f, dir) => (dir === 'toNode' && r.clock.now() < 2500 ? 'drop' : undefined) } });
    const e = await failure(r.client.info(), r.clock);
    expect(e.code).toBe('no-reply');
    expect(r.clock.now()).toBe(600);
  });

  it('retries a request whose reply was lost and ignores stale replies', async () => {
    let n = 0;
    const r = rig({ faults: { plan: (f, dir) => (dir === 'toHost' && f.type === (Msg.INFO | 0x80) && n++ === 0 ? 'drop' : undefined) } });
    const info = await r.clock.run(r.client.info());
    expect(info.slotCount).toBe(2);
    expect(r.client.session.stats.resent).toBe(1);
  });

  it('reports an unknown request type in words', async () => {
    const r = rig();
    const e = await failure(r.client.call(0x3f, new Uint8Array(0), 'StatusReply'), r.clock);
    expect(e.message).toMatch(/does not know this request/);
  });
});
