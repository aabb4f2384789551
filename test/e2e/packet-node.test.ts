// handleFrame, the path a radio driver takes, on the simulated node: the PacketNode example
// collects whole frames from its serial line into a 61-byte packet buffer (an RFM69 packet)
// and hands each to sb.handleFrame(). Real bootloader, real sketches, the CLI's code.
import { afterEach, describe, expect, it } from 'vitest';
import { BootResult, BootState, SlotState } from '../../protocol/ts/index.ts';
import { imageFor, loadPushFile } from '../../host/src/ota/firmware.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { push } from '../../host/src/ota/push.ts';
import { missingFirmware, type RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { FaultyLink } from '../../host/src/transport/faults.ts';
import type { ByteLink } from '../../host/src/transport/link.ts';
import { randInt, seededRng } from '../../host/src/util/rng.ts';
import { blink, cli, hex, node, serialUntil, slotBytes, withNode } from './ota-helpers.ts';

const missing = missingFirmware(['PacketNode', 'BlinkV2']);
const PACKET_NODE = /PacketNode 1\.0\.0/;
const BLINK_V2 = /BlinkV2 2\.0\.0/;
/** PacketNode's packet buffer (PACKET_MAX in the sketch). */
const PACKET_MAX = 61;
/** The largest power-of-two chunk whose DATA frame (chunk + 8 bytes) fits a packet. */
const CHUNK = 32;

let sim: RunningSimNode | null = null;
afterEach(() => { sim?.stop(); sim = null; });

function packetNode(): RunningSimNode {
  const s = node({ app: hex('PacketNode') });
  expect(serialUntil(s, PACKET_NODE, 1)).toMatch(PACKET_NODE);
  return s;
}

/**
 * Line noise on the way to the node: before some frames, a few random bytes, half the time
 * starting with a stray SOF (0x7E), so the node's collector has to hunt for the real frame.
 */
function withNoise(inner: ByteLink, rate: number, seed: number): ByteLink & { noiseBursts: number } {
  const rng = seededRng(seed);
  const link = {
    name: inner.name, mtu: inner.mtu, clock: inner.clock, bytesPerSecond: inner.bytesPerSecond, noiseBursts: 0,
    write(bytes: Uint8Array) {
      if (rng() < rate) {
        const junk = Uint8Array.from({ length: 1 + randInt(rng, 6) }, () => randInt(rng, 256));
        if (rng() < 0.5) junk[0] = 0x7e;
        link.noiseBursts++;
        inner.write(junk);
      }
      inner.write(bytes);
    },
    onData: (l: Parameters<ByteLink['onData']>[0]) => inner.onData(l),
    onClose: (l: Parameters<ByteLink['onClose']>[0]) => inner.onClose(l),
    close: () => inner.close(),
  };
  return link;
}

async function v2Image(info: Parameters<typeof imageFor>[1]) {
  return imageFor(await loadPushFile(blink(2)), info, {});
}

describe.skipIf(missing)(`handleFrame: PacketNode, a radio stand-in${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it('push --chunk 32 stages and activates an image through 61-byte packets', async () => {
    sim = packetNode();
    const r = await cli('push', blink(2), '--port', sim.port, '--chunk', String(CHUNK), '--activate', 'now', '--json');
    expect(r.code, r.err).toBe(0);
    expect(r.json()).toMatchObject({ chunkSize: CHUNK, activated: 'now', resentChunks: 0 });
    const slot = r.json().slot as number;
    expect(serialUntil(sim, BLINK_V2, 4)).toMatch(BLINK_V2);
    const after = await withNode(sim.port, async (c) => ({ info: await c.info(), boot: await c.boot(), slot: await c.slot(slot) }));
    expect(after.boot).toMatchObject({ state: BootState.IDLE, result: BootResult.INSTALLED, current: slot });
    expect(after.slot.state).toBe(SlotState.STAGED);
    expect(after.info.appCrc).toBe(after.slot.header.payloadCrc);
    const len = after.slot.header.length;
    expect(sim.node.flash.subarray(0, len)).toEqual(slotBytes(sim, slot, len));
  });

  it('drops a DATA frame longer than a packet: a 64-byte-chunk push gets nowhere and writes nothing', async () => {
    sim = packetNode();
    const { err, slot } = await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      let slot = -1;
      const err = await push(c, img, { chunkSize: 64, maxResumes: 0, transfer: { stallRetries: 1 }, onEvent: (e) => { if (e.kind === 'begin') slot = e.slot; } }).catch((e) => e);
      return { err, slot };
    });
    // RECORD (the slot RECEIVING, a 59-byte frame) and BEGIN (18 bytes) got through; no 72-byte DATA frame did.
    expect(slot).toBeGreaterThanOrEqual(0);
    expect(err).toBeInstanceOf(OtaError);
    expect((err as OtaError).kind).toBe('link');
    const s = await withNode(sim.port, (c) => c.slot(slot));
    expect(s).toMatchObject({ state: SlotState.RECEIVING, progress: 0 });
    expect(slotBytes(sim, slot, 4096).every((b) => b === 0xff)).toBe(true);
    // The node still runs PacketNode and answers.
    expect((await withNode(sim.port, (c) => c.info())).appVersion).toBe(0x010000);
  });

  it('dropped, duplicated and corrupted packets and line noise: resent, the image arrives intact and runs', async () => {
    sim = packetNode();
    let faults!: FaultyLink;
    let noisy!: ReturnType<typeof withNoise>;
    let largest = 0;
    const { r, img } = await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      return { r: await push(c, img, { chunkSize: CHUNK, activate: 'now' }), img };
    }, (l) => {
      noisy = withNoise(l, 0.05, 7);
      faults = new FaultyLink(noisy, {
        seed: 3, drop: 0.04, duplicate: 0.04, corrupt: 0.02,
        // Every frame passes here first: note the largest the host sent towards the node.
        plan: (f, dir) => { if (dir === 'toNode') largest = Math.max(largest, f.bytes.length); return undefined; },
      });
      return faults;
    });
    const st = faults.stats();
    expect(st.toNode.dropped + st.toHost.dropped).toBeGreaterThan(0);
    expect(st.toNode.duplicated + st.toHost.duplicated).toBeGreaterThan(0);
    expect(st.toNode.corrupted + st.toHost.corrupted).toBeGreaterThan(0);
    expect(noisy.noiseBursts).toBeGreaterThan(0);
    expect(r.resentChunks).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(PACKET_MAX);
    expect(r.chunkSize).toBe(CHUNK);
    expect(slotBytes(sim, r.slot, img.payload.length)).toEqual(img.payload);
    expect(serialUntil(sim, BLINK_V2, 4)).toMatch(BLINK_V2);
    expect((await withNode(sim.port, (c) => c.boot())).result).toBe(BootResult.INSTALLED);
  });
});

