// What the host refuses, what it reports, and how requests are retried.
import { describe, expect, it } from 'vitest';
import { BootState, Msg, SlotState } from '../../protocol/ts/index.ts';
import { VirtualClock } from '../../host/src/transport/clock.ts';
import { loopbackPair } from '../../host/src/transport/loopback.ts';
import { OtaClient, WAKE_MS } from '../../host/src/ota/client.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { push } from '../../host/src/ota/push.ts';
import { image, rig } from './helpers.ts';

async function failure(p: Promise<unknown>, clock: VirtualClock): Promise<OtaError> {
  const e = await clock.run(p).then(() => null, (err) => err);
  expect(e).toBeInstanceOf(OtaError);
  return e as OtaError;
}

describe('refusals before anything is written', () => {
  it('refuses an image for another chip without a BEGIN', async () => {
    const r = rig();
    const e = await failure(push(r.client, image(1000, 1, [0x1e, 0x98, 0x01])), r.clock);
    expect(e.code).toBe('wrong-target');
    expect(e.message).toMatch(/1E 98 01.*1E 95 0F/);
    expect(r.node.begins).toBe(0);
  });

  it('refuses an image larger than the flash below the bootloader', async () => {
    const r = rig({ node: { appMax: 0x7000 } });
    const e = await failure(push(r.client, image(0x7000 + 1)), r.clock);
    expect(e.code).toBe('too-big');
    expect(e.message).toMatch(/1 bytes over/);
    expect(r.node.begins).toBe(0);
  });

  it('refuses an image larger than the slot', async () => {
    const r = rig({ node: { capacity: 4096 } });
    const e = await failure(push(r.client, image(5000)), r.clock);
    expect(e.code).toBe('too-big');
    expect(r.node.begins).toBe(0);
  });

  it('refuses a trial on a one-slot node before sending, suggesting --activate now', async () => {
    const r = rig({ node: { slots: 1 } });
    const e = await failure(push(r.client, image(1000), { activate: 'trial' }), r.clock);
    expect(e.code).toBe('no-backup-room');
    expect(e.message).toMatch(/--activate now/);
    expect(r.node.begins).toBe(0);
  });

  it('refuses a slot that is pending installation', async () => {
    const r = rig();
    r.node.boot = { ...r.node.boot, state: BootState.PENDING, pending: 1 }; // as an ACTIVATE leaves it
    const e = await failure(push(r.client, image(1000), { slot: 1 }), r.clock);
    expect(e.code).toBe('slot-in-use');
    expect(r.node.begins).toBe(0);
  });
});

describe('refusals from the node', () => {
  it('reports a CRC mismatch at END with both CRCs, and the slot is BAD', async () => {
    const r = rig();
    r.node.corruptOnWrite = 777;
    const img = image(3000);
    const e = await failure(push(r.client, img), r.clock);
    expect(e.code).toBe('crc-mismatch');
    expect(e.message).toMatch(/CRC mismatch/);
    expect(e.details.imageCrc).toBe(img.header.payloadCrc.toString(16).toUpperCase().padStart(8, '0'));
    expect(r.node.slots[0].state).toBe(SlotState.BAD);
  });

  it('after a lost END reply, learns from the slot record that the image is staged', async () => {
    const r = rig();
    r.node.loseReply.set(Msg.END, 1);
    const img = image(2000);
    const res = await r.clock.run(push(r.client, img));
    expect(res.nodeCrc).toBe(img.header.payloadCrc);
    expect(r.node.slots[0].state).toBe(SlotState.STAGED);
  });

  it('after a lost END reply, reports the CRC mismatch the slot record shows', async () => {
    const r = rig();
    r.node.loseReply.set(Msg.END, 1);
    r.node.corruptOnWrite = 100;
    const e = await failure(push(r.client, image(2000)), r.clock);
    expect(e.code).toBe('crc-mismatch');
    expect(r.node.slots[0].state).toBe(SlotState.BAD);
  });

  it('reads across a 64 KiB boundary in pieces that do not cross it', async () => {
    const r = rig();
    const data = await r.clock.run(r.client.read(0x10000 - 100, 300));
    expect([...data]).toEqual(Array.from({ length: 300 }, (_, i) => (0x10000 - 100 + i) & 0xff));
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
