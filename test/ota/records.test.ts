// Protocol 2: the host owns the policy of the EEPROM file system (protocol/STATES.md) and writes
// every slot record and the PENDING boot record through RECORD. What it writes, in what order,
// and that it stays right when replies are lost or another writer gets there first.
import { describe, expect, it } from 'vitest';
import {
  BootFlag, BootResult, BootState, ImageFlag, Msg, NO_SLOT, SlotState,
  FS_REC_PITCH, crc32, decodeRecord, decodeSuperblock, encodeHeader, encodeRecord, layouts, makeHeader, pickRecord, planLayout, recordAddrs, slotDataAddr,
} from '../../protocol/ts/index.ts';
import { OtaClient } from '../../host/src/ota/client.ts';
import { OtaError } from '../../host/src/ota/errors.ts';
import { push } from '../../host/src/ota/push.ts';
import { sendChunks } from '../../host/src/ota/transfer.ts';
import { image, rig, type Rig } from './helpers.ts';

const count = (r: Rig, type: number) => r.node.requests.filter((t) => t === type).length;
const slotSeq = (r: Rig, i: number) => r.clock.run(r.client.slotRecord(i)).then((x) => x.seq);

describe('reading records', () => {
  const place = { reserved: 0, dataAddr: 896, capacity: 32256, progress: 0, crc: 0 };
  const at = (r: Rig, addr: number, rec: Parameters<typeof encodeRecord<'SlotRecord'>>[1]) => r.node.memory.set(encodeRecord('SlotRecord', rec), addr);

  it('reads both copies with READ and picks the newest valid one as the node does: B wins a tie, a torn copy loses', async () => {
    const r = rig();
    const [a, b] = recordAddrs(FS_REC_PITCH, 0);
    const header = image(1000).header;
    at(r, a, { seq: 5, state: SlotState.STAGED, header, ...place });
    at(r, b, { seq: 5, state: SlotState.BAD, header, ...place });
    expect((await r.clock.run(r.client.slotRecord(0)))).toMatchObject({ seq: 5, record: { state: SlotState.BAD } });
    r.node.memory[b + 20] ^= 1; // B torn: its CRC fails
    expect((await r.clock.run(r.client.slotRecord(0)))).toMatchObject({ seq: 5, record: { state: SlotState.STAGED } });
    r.node.memory.fill(0xff, a, a + 56).fill(0xff, b, b + 56);
    expect((await r.clock.run(r.client.slotRecord(0)))).toEqual({ seq: 0, record: null });
    expect(r.node.requests.filter((t) => t !== Msg.INFO && t !== Msg.READ)).toEqual([]);
  });

  it('RECORD names the newest seq the host read and carries the record without its CRC field (a 59-byte frame)', async () => {
    const records: Uint8Array[] = [];
    const r = rig({ faults: { plan: (f, dir) => { if (dir === 'toNode' && f.type === Msg.RECORD) records.push(f.bytes); return undefined; } } });
    const [a, b] = recordAddrs(FS_REC_PITCH, 0);
    const header = image(1000).header;
    at(r, a, { seq: 0xfffe, state: SlotState.BAD, header, ...place });
    at(r, b, { seq: 0xffff, state: SlotState.BAD, header, ...place });
    await r.clock.run(r.client.erase(0));
    expect(records.map((f) => f.length)).toEqual([59]);
    const p = records[0].subarray(4, -2);
    expect(p[0]).toBe(1); // which: slot 0
    expect(p[1] | (p[2] << 8)).toBe(0xffff); // the seq read (B, the newest)
    // The node wrote copy A with the next seq (it wraps) and its own CRC.
    expect(decodeRecord('SlotRecord', r.node.memory.subarray(a, a + 56))).toMatchObject({ seq: 0, state: SlotState.EMPTY, dataAddr: 896 });
    expect(r.node.slot(0).state).toBe(SlotState.EMPTY);
  });
});

describe('begin and end', () => {
  it('begin makes the slot RECEIVING with the image header, then BEGIN opens the transfer', async () => {
    const r = rig();
    const img = image(3000);
    const writes = r.node.writes;
    expect(await r.clock.run(r.client.begin(1, 64, img.header))).toBe(0);
    const sb = planLayout({ name: 'x', size: 65536, pageSize: 128, bankSize: 65536 }, 2);
    expect(r.node.slot(1)).toMatchObject({ state: SlotState.RECEIVING, progress: 0, dataAddr: slotDataAddr(sb, 1), capacity: sb.slotSize });
    expect(encodeHeader(r.node.slot(1).header!)).toEqual(encodeHeader(img.header));
    expect(r.node.writes - writes).toBe(1); // the record, nothing else
    expect(r.node.requests.slice(-2)).toEqual([Msg.RECORD, Msg.BEGIN]);
  });

  it('a slot whose record is gone gets its place from the superblock', async () => {
    const r = rig();
    const [a, b] = recordAddrs(128, 0);
    r.node.memory.fill(0xff, a, a + 128).fill(0xff, b, b + 128);
    await r.clock.run(r.client.begin(0, 128, image(1000).header));
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.RECEIVING, dataAddr: 896, capacity: 32256 });
    expect(r.node.requests).toContain(Msg.READ);
  });

  it('resumes the same image at the progress the node persisted, without rewriting the record', async () => {
    const r = rig();
    const img = image(12_000);
    await r.clock.run(r.client.begin(0, 128, img.header));
    // 40 chunks arrive, then the node resets: it had persisted 32 of them.
    await r.clock.run(sendChunks(r.client.session, { payload: img.payload.subarray(0, 40 * 128), chunkSize: 128, startChunk: 0, window: 4 }));
    r.node.reset();
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.RECEIVING, progress: 32 * 128 });
    const seq = await slotSeq(r, 0);
    expect(await r.clock.run(r.client.begin(0, 128, img.header))).toBe(32);
    expect(await r.clock.run(r.client.begin(0, 64, img.header))).toBe(64); // progress is in bytes
    expect(await slotSeq(r, 0)).toBe(seq);
    await r.clock.run(sendChunks(r.client.session, { payload: img.payload, chunkSize: 64, startChunk: 64, window: 4 }));
    expect(await r.clock.run(r.client.end(0, img.header))).toBe(img.header.payloadCrc);
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.STAGED, progress: 12_000 });
    expect(r.node.payloadOf(0)).toEqual(img.payload);
  });

  it('another image, or the same payload with another header, restarts at 0 with a fresh record', async () => {
    const r = rig();
    const img = image(12_000);
    await r.clock.run(r.client.begin(0, 128, img.header));
    await r.clock.run(sendChunks(r.client.session, { payload: img.payload.subarray(0, 40 * 128), chunkSize: 128, startChunk: 0, window: 4 }));
    const h2 = makeHeader(img.payload, { signature: img.header.signature, appVersion: 7 });
    expect(await r.clock.run(r.client.begin(0, 128, h2))).toBe(0);
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.RECEIVING, progress: 0 });
    expect(r.node.slot(0).header!.appVersion).toBe(7);
  });

  it('redecides once when another writer changed the record (STALE), and gives up on a second STALE', async () => {
    const r = rig();
    const img = image(1000);
    let others = 1;
    r.node.beforeRecord = (which) => { if (which === 1 && others-- > 0) r.node.setSlot(0, { state: SlotState.BAD }); };
    await r.clock.run(r.client.begin(0, 128, img.header));
    expect(count(r, Msg.RECORD)).toBe(2);
    expect(r.node.slot(0).state).toBe(SlotState.RECEIVING);

    const r2 = rig();
    r2.node.beforeRecord = (which) => { if (which === 1) r2.node.setSlot(0, { state: SlotState.BAD, progress: r2.node.slot(0).progress + 1 }); };
    const e = await r2.clock.run(r2.client.begin(0, 128, img.header)).catch((x) => x);
    expect(e).toBeInstanceOf(OtaError);
    expect(e.code).toBe('stale');
    expect(e.message).toMatch(/RECORD of slot 0 refused by the node: the record changed since the host read it \(STALE\)/);
    expect(count(r2, Msg.BEGIN)).toBe(0);
  });

  it('keeps every record write idempotent when RECORD replies are lost', async () => {
    const r = rig();
    r.node.loseReply.set(Msg.RECORD, 3);
    const img = image(5000);
    const res = await r.clock.run(push(r.client, img, { activate: 'later' }));
    expect(res.nodeCrc).toBe(img.header.payloadCrc);
    expect(r.node.slot(0)).toMatchObject({ state: SlotState.STAGED, progress: 5000 });
    expect(r.node.boot).toMatchObject({ state: BootState.PENDING, slot: 0 });
    // Three writes (RECEIVING, STAGED, PENDING), each resent once and found done (STALE).
    expect(count(r, Msg.RECORD)).toBe(6);
  });
});

describe('activate', () => {
  it('later: PENDING with the current slot kept, no reboot', async () => {
    const r = rig();
    r.node.setBoot({ current: 1, result: BootResult.CONFIRMED });
    await r.clock.run(push(r.client, image(2000), { slot: 0 }));
    await r.clock.run(r.client.activate(0, 'later'));
    expect(r.node.boot).toMatchObject({ state: BootState.PENDING, flags: 0, slot: 0, current: 1, backup: NO_SLOT, result: BootResult.NONE, attempts: 0 });
    expect(r.node.reboots).toBe(0);
  });

  it('now: PENDING, then REBOOT; INFO shows the installed header\'s version', async () => {
    const r = rig();
    const img = image(2000);
    const h = { ...img, header: makeHeader(img.payload, { signature: img.header.signature, appVersion: 0x020103 }) };
    await r.clock.run(push(r.client, h));
    await r.clock.run(r.client.activate(0, 'now'));
    expect(r.node.reboots).toBe(1);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, current: 0, result: BootResult.INSTALLED });
    r.node.appVersion = 0x000001; // the version compiled into the sketch, which INFO reports
    const info = await r.clock.run(r.client.info());
    expect(info.appVersion).toBe(0x020103);
    expect(info).toMatchObject({ bootState: BootState.IDLE, current: 0, result: BootResult.INSTALLED });
    // After a serial upload `current` names a slot that no longer holds the running image.
    r.node.app = image(1500, 9).payload;
    expect((await r.clock.run(r.client.info())).appVersion).toBe(0x000001);
  });

  it('trial: copies the running image into a spare slot, checks it, marks it STAGED, then PENDING for trial', async () => {
    const r = rig({ node: { appVersion: 0x010200 } });
    const img = image(3000);
    await r.clock.run(push(r.client, img, { slot: 0 }));
    await r.clock.run(r.client.activate(0, 'trial'));
    const app = r.node.o.app;
    const b = r.node.slot(1);
    expect(b).toMatchObject({ state: SlotState.STAGED, progress: app.length });
    expect(b.header).toMatchObject({ length: app.length, payloadCrc: crc32(app), buildId: crc32(app), appVersion: 0x010200, flags: ImageFlag.CONFIRMS, loadAddr: 0 });
    expect([...b.header!.signature]).toEqual([0x1e, 0x95, 0x0f]);
    expect(r.node.memory.subarray(b.dataAddr, b.dataAddr + app.length)).toEqual(app);
    expect(r.node.requests.filter((t) => [Msg.RECORD, Msg.BACKUP, Msg.CRC, Msg.REBOOT].includes(t as never)).slice(-6))
      .toEqual([Msg.RECORD, Msg.BACKUP, Msg.CRC, Msg.RECORD, Msg.RECORD, Msg.REBOOT]);
    // The model's bootloader installed slot 0 for trial, with slot 1 to revert to.
    expect(r.node.boot).toMatchObject({ state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 0, current: 0, backup: 1 });
    await r.clock.run(r.client.confirm());
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, result: BootResult.CONFIRMED, backup: NO_SLOT });
  });

  it('trial: a STAGED slot that holds the running image is the backup; nothing is copied', async () => {
    const r = rig();
    const app = r.node.o.app;
    r.node.setSlot(1, { state: SlotState.STAGED, progress: app.length, header: makeHeader(app, { signature: Uint8Array.of(0x1e, 0x95, 0x0f) }) }, app);
    await r.clock.run(push(r.client, image(3000), { slot: 0, activate: 'trial' }));
    expect(count(r, Msg.BACKUP)).toBe(0);
    expect(r.node.boot).toMatchObject({ state: BootState.TRIAL, slot: 0, backup: 1 });
  });

  it('trial: a backup that reads back wrong is an EEPROM error, and nothing is activated', async () => {
    const r = rig();
    await r.clock.run(push(r.client, image(3000), { slot: 0 }));
    r.node.corruptBackup = true;
    const e = await r.clock.run(r.client.activate(0, 'trial')).catch((x) => x);
    expect(e).toMatchObject({ code: 'eeprom-error' });
    expect(e.message).toMatch(/slot 1 reads back .* CRC-32/);
    expect(r.node.boot?.state).toBe(BootState.IDLE);
    expect(r.node.slot(1).state).toBe(SlotState.RECEIVING);
    expect(r.node.reboots).toBe(0);
  });

  it('REBOOT whose reply is lost: the node is asked, not rebooted again', async () => {
    const r = rig();
    await r.clock.run(push(r.client, image(2000)));
    r.node.loseReply.set(Msg.REBOOT, 1);
    await r.clock.run(r.client.activate(0, 'now'));
    expect(r.node.reboots).toBe(1);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, current: 0, result: BootResult.INSTALLED });
  });

  it('REBOOT that never arrived is sent again', async () => {
    let dropped = 0;
    const r = rig({ faults: { plan: (f, dir) => (dir === 'toNode' && f.type === Msg.REBOOT && dropped++ === 0 ? 'drop' : undefined) } });
    await r.clock.run(push(r.client, image(2000)));
    await r.clock.run(r.client.activate(0, 'now'));
    expect(r.node.reboots).toBe(1);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, current: 0 });
  });
});

describe('erase', () => {
  it('marks the slot EMPTY and keeps its place; an EMPTY slot is left alone', async () => {
    const r = rig();
    await r.clock.run(push(r.client, image(2000), { slot: 1 }));
    const { dataAddr, capacity } = r.node.slot(1);
    await r.clock.run(r.client.erase(1));
    expect(r.node.slot(1)).toMatchObject({ state: SlotState.EMPTY, progress: 0, header: null, dataAddr, capacity });
    const writes = r.node.writes;
    await r.clock.run(r.client.erase(1));
    expect(r.node.writes).toBe(writes);
  });
});

describe('format', () => {
  const chip = { name: 'x', size: 65536, pageSize: 128, bankSize: 65536 };

  it('invalidates the superblock, writes the boot record and EMPTY slot records, and the superblock last', async () => {
    const r = rig({ node: { formatted: false } });
    const sb = await r.clock.run(r.client.format(3));
    expect(sb).toEqual(planLayout(chip, 3));
    expect(decodeSuperblock(r.node.memory.subarray(0, 28))).toEqual(sb);
    const writes = r.node.requests.filter((t) => t === Msg.SUPERBLOCK || t === Msg.RECORD);
    expect(writes).toEqual([Msg.SUPERBLOCK, Msg.RECORD, Msg.RECORD, Msg.RECORD, Msg.RECORD, Msg.SUPERBLOCK]);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, slot: NO_SLOT, current: NO_SLOT, backup: NO_SLOT, result: BootResult.NONE });
    for (let i = 0; i < 3; i++) expect(r.node.slot(i)).toMatchObject({ state: SlotState.EMPTY, dataAddr: slotDataAddr(sb, i), capacity: sb.slotSize });
    expect((await r.clock.run(r.client.info())).slotCount).toBe(3);
  });

  it('reformats a used node: records get their next seq from both copies', async () => {
    const r = rig();
    await r.clock.run(push(r.client, image(2000), { slot: 1, activate: 'later' }));
    await r.clock.run(r.client.format());
    expect(r.node.slots.map((s) => s.state)).toEqual([SlotState.EMPTY, SlotState.EMPTY]);
    expect(r.node.boot).toMatchObject({ state: BootState.IDLE, current: NO_SLOT });
  });

  it('a power cut at any point leaves "not formatted" or the whole new layout, and a new format finishes', async () => {
    const target = planLayout(chip, 2);
    const bootOf = (mem: Uint8Array) => pickRecord(...(recordAddrs(128, 'boot').map((a) => decodeRecord('BootRecord', mem.subarray(a, a + layouts.BootRecord.size))) as [never, never])).record;
    // 5 writes: superblock invalid, boot record, 2 slot records, superblock.
    for (let cut = 1; cut <= 5; cut++) {
      const r = rig({ node: { slots: 1 }, session: { retries: 1 } });
      await r.clock.run(push(r.client, image(2000), { activate: 'later' }));
      const start = r.node.writes;
      r.node.afterWrite = () => { if (r.node.writes - start === cut) r.node.silent = true; };
      const e = await r.clock.run(r.client.format(2)).catch((x) => x);
      const sb = decodeSuperblock(r.node.memory.subarray(0, 28));
      if (cut < 5) {
        expect(e).toMatchObject({ code: 'no-reply' });
        expect(sb).toBeNull();
      } else {
        expect(sb).toEqual(target);
        expect(bootOf(r.node.memory)).toMatchObject({ state: BootState.IDLE, current: NO_SLOT });
      }
      // Power back: the node starts afresh and the user formats again.
      r.node.afterWrite = null;
      r.node.silent = false;
      r.node.reset();
      const client = new OtaClient(r.faults, { clock: r.clock });
      await r.clock.run(client.format(2));
      expect(decodeSuperblock(r.node.memory.subarray(0, 28))).toEqual(target);
      expect(bootOf(r.node.memory)).toMatchObject({ state: BootState.IDLE, current: NO_SLOT });
      expect(r.node.slots.map((s) => s.state)).toEqual([SlotState.EMPTY, SlotState.EMPTY]);
    }
  });
});

describe('a whole update under faults', () => {
  it('push --activate trial over a link that drops, duplicates, corrupts and reorders frames both ways ends as on a clean link', async () => {
    let rebootDuplicates = 0;
    for (const seed of [1, 2, 3, 4, 5, 6, 27, 32]) { // 27 and 32 duplicate the REBOOT frame
      // plan() sees each frame towards the node before its random fault is chosen: a REBOOT
      // was duplicated when the count has grown by the next frame (or the end).
      let afterReboot: number | null = null;
      const duplicated = () => r.faults.stats().toNode.duplicated;
      const watch = () => { if (afterReboot !== null && duplicated() > afterReboot) rebootDuplicates++; };
      const r: Rig = rig({
        faults: {
          seed, drop: 0.06, duplicate: 0.06, corrupt: 0.04, reorder: 0.04,
          plan: (f, dir) => { if (dir === 'toNode') { watch(); afterReboot = f.type === Msg.REBOOT ? duplicated() : null; } return undefined; },
        },
      });
      const img = image(9000, seed);
      await r.clock.run(push(r.client, img, { slot: 0, activate: 'trial' }));
      watch();
      const st = r.faults.stats();
      expect(st.toNode.dropped + st.toHost.dropped + st.toNode.duplicated + st.toHost.duplicated).toBeGreaterThan(0);
      expect(r.node.reboots).toBe(1);
      expect(r.node.boot).toMatchObject({ state: BootState.TRIAL, flags: BootFlag.TRIAL, slot: 0, current: 0, backup: 1 });
      expect(r.node.slot(0)).toMatchObject({ state: SlotState.STAGED, progress: 9000 });
      expect(r.node.app).toEqual(img.payload);
      const backup = r.node.slot(1);
      expect(backup).toMatchObject({ state: SlotState.STAGED, progress: r.node.o.app.length });
      expect(r.node.memory.subarray(backup.dataAddr, backup.dataAddr + backup.progress)).toEqual(r.node.o.app);
      expect(r.node.wrappedReads).toBe(0);
    }
    expect(rebootDuplicates).toBe(2);
  });
});
