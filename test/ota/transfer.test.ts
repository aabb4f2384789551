// The host's windowed transfer against a model node over a faulty, paced link (virtual time).
import { describe, expect, it } from 'vitest';
import { BootResult, BootState, Msg, SlotState } from '../../protocol/ts/index.ts';
import { push } from '../../host/src/ota/push.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { image, rig } from './helpers.ts';

const SIZE = 6000;

describe('windowed transfer', () => {
  it('delivers an image on a clean link without a single resend, within the node window', async () => {
    const r = rig({ node: { window: 4 } });
    const img = image(SIZE);
    const res = await r.clock.run(push(r.client, img));
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    expect(r.node.slots[res.slot].state).toBe(SlotState.STAGED);
    expect(res.resentChunks).toBe(0);
    expect(res.framesSent).toBe(Math.ceil(SIZE / res.chunkSize));
    // Never a chunk the node would have to drop: all within window of what the node had.
    for (const d of r.node.dataLog) expect(d.chunk).toBeLessThan(d.cum + 4);
  });

  it('keeps the line busy: pipelining beats stop-and-wait when the node takes time per chunk', async () => {
    const slowNode = { window: 4, chunkMs: () => 5 };
    const piped = rig({ node: slowNode });
    const stopWait = rig({ node: slowNode });
    const img = image(SIZE);
    const a = await piped.clock.run(push(piped.client, img));
    const b = await stopWait.clock.run(push(stopWait.client, img, { window: 1 }));
    expect(a.transferMs).toBeLessThan(b.transferMs * 0.75);
  });

  for (const [what, faults] of [
    ['dropped', { drop: 0.1 }],
    ['corrupted', { corrupt: 0.1 }],
    ['duplicated', { duplicate: 0.2 }],
    ['reordered', { reorder: 0.2 }],
    ['dropped, corrupted, duplicated and reordered', { drop: 0.05, corrupt: 0.05, duplicate: 0.05, reorder: 0.05 }],
  ] as const) {
    it(`arrives intact when frames are ${what} in both directions`, async () => {
      for (const seed of [1, 2, 3]) {
        const r = rig({ faults: { seed, ...faults } });
        const img = image(SIZE, seed);
        const res = await r.clock.run(push(r.client, img));
        expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
        expect(r.node.slots[res.slot].state).toBe(SlotState.STAGED);
        expect(r.node.rewrites).toBe(0);
        const st = r.faults.stats();
        const injected = st.toNode.dropped + st.toNode.corrupted + st.toNode.duplicated + st.toNode.reordered + st.toHost.dropped + st.toHost.corrupted + st.toHost.duplicated + st.toHost.reordered;
        expect(injected).toBeGreaterThan(0);
        if ('drop' in faults || 'corrupt' in faults) expect(res.resentChunks).toBeGreaterThan(0);
      }
    });
  }

  it('resends a hole as soon as a later chunk is acknowledged, not after a timeout', async () => {
    // Drop the third DATA frame once; everything else goes through.
    let data = 0;
    const r = rig({ faults: { plan: (f, dir) => (dir === 'toNode' && f.type === Msg.DATA && data++ === 2 ? 'drop' : undefined) } });
    const img = image(SIZE);
    const res = await r.clock.run(push(r.client, img));
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    expect(res.resentChunks).toBe(1);
    expect(res.timeouts).toBe(0);
  });

  it('recovers by timeout when the last frames of the window are lost', async () => {
    const img = image(SIZE);
    const chunks = Math.ceil(SIZE / 128);
    const r = rig({ faults: { plan: (f, dir) => (dir === 'toNode' && f.type === Msg.DATA && f.bytes[4] + f.bytes[5] * 256 === chunks - 1 ? (dropped++ < 1 ? 'drop' : undefined) : undefined) } });
    let dropped = 0;
    const res = await r.clock.run(push(r.client, img));
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    expect(res.timeouts).toBeGreaterThan(0);
  });

  it('rides out a link that goes down and comes back', async () => {
    const r = rig();
    const img = image(SIZE);
    const p = push(r.client, img, { onProgress: (pr) => { if (pr.ackedBytes > SIZE / 3 && !went) { went = true; r.faults.down(); r.clock.setTimer(() => r.faults.up(), 1500); } } });
    let went = false;
    const res = await r.clock.run(p);
    expect(went).toBe(true);
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    expect(res.timeouts).toBeGreaterThan(0);
  });

  // The node persists its progress in the slot record every 32 chunks (4 KiB here), and that
  // record is all a resume has to go on: these images are large enough for it to matter.
  const BIG = 20_000;

  it('gives up with a link error when the link stays down, and a new push resumes where the node persisted', async () => {
    const r = rig({ session: { retries: 1 } });
    const img = image(BIG);
    let acked = 0;
    const p = push(r.client, img, { maxResumes: 1, onProgress: (pr) => { acked = pr.ackedBytes; if (pr.ackedBytes > BIG / 2) r.faults.down(); } });
    const err = await r.clock.run(p).catch((e) => e);
    expect(err).toBeInstanceOf(OtaError);
    expect(err.kind).toBe('link');
    expect(err.message).toMatch(/no (reply|acknowledgement)/);
    const held = r.node.slot(0).progress;
    expect(held).toBeGreaterThan(0);
    expect(held).toBeGreaterThan(acked - 32 * 128 - 1);
    expect(held % 128).toBe(0);
    r.faults.up();
    const before = r.node.dataLog.length;
    const res = await r.clock.run(push(r.client, img));
    expect(res.resumedFrom).toBe(held);
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    expect(r.node.dataLog.length - before).toBeLessThanOrEqual(Math.ceil((BIG - res.resumedFrom) / res.chunkSize) + 4);
  });

  it('resumes by itself when the node reboots mid-transfer', async () => {
    const r = rig();
    const img = image(BIG);
    let reset = false;
    const res = await r.clock.run(push(r.client, img, { onProgress: (pr) => { if (!reset && pr.ackedBytes > BIG * 3 / 4) { reset = true; r.node.reset(); } } }));
    expect(res.resumes).toBe(1);
    expect(r.node.begins).toBe(2);
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
    // Resumed, not restarted: far fewer than two images' worth of chunks were sent.
    expect(r.node.dataLog.length).toBeLessThan(1.25 * Math.ceil(BIG / res.chunkSize));
  });

  it('fits chunks to a small-MTU link (radio gateway) and survives its losses', async () => {
    // The link drops any frame longer than 64 bytes, as a radio would.
    const r = rig({ mtu: 64, faults: { drop: 0.05, seed: 9, mtu: 64 } });
    const img = image(3000);
    const res = await r.clock.run(push(r.client, img));
    expect(res.chunkSize).toBe(32); // 64 - 6 - 2 = 56: the largest power of two below
    expect(r.faults.stats().toNode.tooBig).toBe(0);
    expect(r.node.payloadOf(res.slot)).toEqual(img.payload);
  });

  it('stages and activates over 61-byte radio packets: a slot RECORD is a 59-byte frame, a record copy comes in two READs', async () => {
    const r = rig({ mtu: 61, faults: { mtu: 61 } });
    const img = image(3000);
    const res = await r.clock.run(push(r.client, img, { activate: 'now' }));
    expect(res.chunkSize).toBe(32);
    expect(r.faults.stats().toNode.tooBig + r.faults.stats().toHost.tooBig).toBe(0);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, current: res.slot, result: BootResult.INSTALLED });
    expect(r.node.app).toEqual(img.payload);
    expect(r.node.wrappedReads).toBe(0);
  });

  it('refuses, writing nothing, a link whose MTU cannot carry a slot record towards the node', async () => {
    // Only frames towards the node are limited here (a gateway's downlink), so replies still come.
    const r = rig({ mtu: 48, faults: { plan: (f, dir) => (dir === 'toNode' && f.bytes.length > 48 ? 'drop' : undefined) } });
    const before = r.node.memory.slice();
    const err = await r.clock.run(push(r.client, image(3000))).catch((e) => e);
    expect(err).toBeInstanceOf(OtaError);
    expect(err.code).toBe('frame-too-big');
    expect(err.message).toMatch(/^RECORD needs a \d+-byte frame, but the link .* carries at most 48 bytes$/);
    expect(Buffer.compare(r.node.memory, before)).toBe(0);
    expect(r.faults.stats().toNode.dropped).toBe(0);
  });
});
