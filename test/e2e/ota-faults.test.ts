// issue 5, "Done when": resume after the link drops and after a node reset mid-transfer;
// corrupted, dropped and duplicated frames are retransmitted and the image arrives intact;
// wrong-target and oversize images are refused with nothing written; a CRC mismatch at the
// end is refused. Real bootloader and sketch on the simulated node.
import { afterEach, describe, expect, it } from 'vitest';
import { SlotState, makeHeader, slotDataAddr } from '../../protocol/ts/index.ts';
import { imageFor, loadPushFile } from '../../host/src/ota/firmware.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { push } from '../../host/src/ota/push.ts';
import type { RunningSimNode } from '../../host/src/ota/sim-node.ts';
import { FaultyLink } from '../../host/src/transport/faults.ts';
import { firmwareMissing, hex, node, slotBytes, superblock, withNode } from './ota-helpers.ts';

let sim: RunningSimNode | null = null;
afterEach(() => { sim?.stop(); sim = null; });

async function v2Image(c: Parameters<typeof imageFor>[1]) {
  return imageFor(await loadPushFile(hex('BlinkV2')), c, { confirms: true });
}

describe.skipIf(firmwareMissing)(`OTA under faults on the simulated node${firmwareMissing ? ` (skipped: ${firmwareMissing})` : ''}`, () => {
  it('resumes after the link drops mid-transfer', async () => {
    sim = node();
    let faults!: FaultyLink;
    const first = await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      return push(c, img, { maxResumes: 0, transfer: { stallRetries: 2 }, onProgress: (p) => { if (p.ackedBytes > p.totalBytes / 2) faults.down(); } }).catch((e) => e);
    }, (l) => (faults = new FaultyLink(l)));
    expect(first).toBeInstanceOf(OtaError);
    expect((first as OtaError).kind).toBe('link');
    const second = await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      const r = await push(c, img);
      return { r, img };
    });
    expect(second.r.resumedFrom).toBeGreaterThan(0);
    expect(slotBytes(sim, second.r.slot, second.img.payload.length)).toEqual(second.img.payload);
  });

  it('resumes after the node resets mid-transfer', async () => {
    sim = node();
    const { r, img } = await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      let done = false;
      const r = await push(c, img, { onProgress: (p) => { if (!done && p.ackedBytes > p.totalBytes / 2) { done = true; sim!.node.reset('external'); } } });
      return { r, img };
    });
    expect(r.resumes).toBeGreaterThanOrEqual(1);
    expect(slotBytes(sim, r.slot, img.payload.length)).toEqual(img.payload);
  });

  for (const [what, rates] of [
    ['corrupted', { corrupt: 0.05 }],
    ['dropped', { drop: 0.05 }],
    ['duplicated', { duplicate: 0.1 }],
  ] as const) {
    it(`retransmits ${what} frames and the image arrives intact`, async () => {
      sim = node();
      let faults!: FaultyLink;
      const { r, img } = await withNode(sim.port, async (c) => {
        const img = await v2Image(await c.info());
        return { r: await push(c, img), img };
      }, (l) => (faults = new FaultyLink(l, { seed: 5, ...rates })));
      const st = faults.stats();
      expect(st.toNode.corrupted + st.toNode.dropped + st.toNode.duplicated + st.toHost.corrupted + st.toHost.dropped + st.toHost.duplicated).toBeGreaterThan(0);
      // Lost or damaged frames were sent again (a duplicate needs no resend: the node re-acks it).
      if (what !== 'duplicated') expect(r.resentChunks).toBeGreaterThan(0);
      expect(slotBytes(sim, r.slot, img.payload.length)).toEqual(img.payload);
    });
  }

  it('refuses wrong-target and oversize images with nothing written', async () => {
    sim = node();
    sim.node.runFor(1); // v1 boots and formats the EEPROM: that write is not the push's
    const before = sim.node.eeprom!.memory.slice();
    await withNode(sim.port, async (c) => {
      const info = await c.info();
      const img = await v2Image(info);
      const mega = { ...img, header: makeHeader(img.payload, { signature: Uint8Array.of(0x1e, 0x98, 0x01) }) };
      await expect(push(c, mega)).rejects.toMatchObject({ code: 'wrong-target' });
      const big = new Uint8Array(info.appMax + 128).fill(0x11);
      await expect(push(c, { header: makeHeader(big, { signature: info.signature }), payload: big })).rejects.toMatchObject({ code: 'too-big' });
    });
    expect(sim.node.eeprom!.memory).toEqual(before);
  });

  it('refuses a CRC mismatch at the end and marks the slot BAD', async () => {
    sim = node();
    await withNode(sim.port, async (c) => {
      const img = await v2Image(await c.info());
      let flipped = false;
      const err = await push(c, img, {
        onProgress: (p) => {
          // Damage a byte the node already wrote: only END's read-back can notice.
          if (!flipped && p.ackedBytes > 1024) { flipped = true; slotByteFlip(sim!, 0, 100); }
        },
      }).catch((e) => e);
      expect(err).toMatchObject({ code: 'crc-mismatch' });
      expect((await c.slot(0)).state).toBe(SlotState.BAD);
    });
  });
});

function slotByteFlip(s: RunningSimNode, slot: number, offset: number): void {
  s.node.eeprom!.memory[slotDataAddr(superblock(s), slot) + offset] ^= 0x01;
}
