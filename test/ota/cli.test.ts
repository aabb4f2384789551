// The node commands of the CLI, run in-process through main() against the model node on an
// in-test `model:` link. Exit codes and --json output are what scripts rely on.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeImage, SlotState } from '../../protocol/ts/index.ts';
import { runCli as run } from '../cli/run.ts';
import { writeIhex } from '../../host/src/formats/ihex.ts';
import { loopbackPair } from '../../host/src/transport/loopback.ts';
import { registerScheme } from '../../host/src/transport/open.ts';
import { NodeModel } from './node-model.ts';
import { image, payload } from './helpers.ts';

const nodes = new Map<string, NodeModel>();
registerScheme('model', async (spec) => {
  const [host, nodeEnd] = loopbackPair({ names: [spec, 'model-node'] });
  if (spec !== 'model:silent') {
    const node = nodes.get(spec) ?? new NodeModel(nodeEnd, { now: () => 0, setTimer: setTimeout, clearTimer: clearTimeout } as never);
    if (!nodes.has(spec)) nodes.set(spec, node);
    else node.relink(nodeEnd);
  }
  return host;
});

const dir = mkdtempSync(join(tmpdir(), 'stageboot-cli-'));
afterEach(() => nodes.clear());

describe('stageboot node commands', () => {
  it('info --json describes the node', async () => {
    const r = await run('info', '--port', 'model:a', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ ok: true, signature: '1E 95 0F', slotCount: 2, window: 4, maxChunk: 128 });
    // From the parts table (the signature) and from the boot record, which the host reads.
    expect(j).toMatchObject({ flashSize: 32768, appMax: 32768 - 1024, bootState: 'IDLE', current: null, lastResult: 'NONE' });
    expect(j.slots).toHaveLength(2);
  });

  it('push of a HEX file stages it, and a second push finds it already staged', async () => {
    const hex = join(dir, 'app.hex');
    const p = payload(3000);
    writeFileSync(hex, writeIhex([{ address: 0, data: p }]));
    const r = await run('push', hex, '--port', 'model:b', '--json', '--app-version', '1.2.3');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ ok: true, slot: 0, bytes: 3000, resumedFrom: 0, alreadyStaged: false });
    const node = nodes.get('model:b')!;
    expect(node.slots[0].state).toBe(SlotState.STAGED);
    expect(node.payloadOf(0)).toEqual(p);
    expect(node.slots[0].header!.appVersion).toBe(0x010203);
    const again = await run('push', hex, '--port', 'model:b', '--json', '--app-version', '1.2.3');
    expect(JSON.parse(again.out)).toMatchObject({ alreadyStaged: true, slot: 0 });
  });

  it('push --activate later marks the slot pending; slots shows it', async () => {
    const file = join(dir, 'img.sbim');
    writeFileSync(file, encodeImage(image(2000)));
    expect((await run('push', file, '--port', 'model:c', '--activate', 'later')).code).toBe(0);
    const r = await run('slots', '--port', 'model:c', '--json');
    expect(JSON.parse(r.out).slots[0]).toMatchObject({ state: 'STAGED', roles: ['pending'] });
  });

  it('refuses an image for another chip with exit 1 and a JSON error', async () => {
    const file = join(dir, 'mega.sbim');
    writeFileSync(file, encodeImage(image(2000, 3, [0x1e, 0x98, 0x01])));
    const r = await run('push', file, '--port', 'model:d', '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out).error.code).toBe('wrong-target');
    expect(r.err).toMatch(/wrong target/);
    expect(nodes.get('model:d')!.begins).toBe(0);
  });

  it('exits 3 with "no reply" when nothing answers', async () => {
    const r = await run('info', '--port', 'model:silent', '--timeout', '50', '--retries', '1');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/no reply to INFO from model:silent after 2 attempts/);
  });

  it('exits 2 for a usage error and 1 for a missing file, before opening any port', async () => {
    expect((await run('push', join(dir, 'x.hex'), '--port', 'model:e', '--chunk', '-3')).code).toBe(2);
    const r = await run('push', join(dir, 'nope.hex'), '--port', 'model:e');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no such file/);
    expect(nodes.has('model:e')).toBe(false);
  });

  it('exits 3 for a port that cannot be opened, and names it', async () => {
    const r = await run('info', '--port', '/dev/ttyNOPE0');
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/cannot open \/dev\/ttyNOPE0/);
  });

  it('read dumps EEPROM bytes; erase empties a slot', async () => {
    const r = await run('read', '0x10', '20', '--port', 'model:f', '--json');
    expect(JSON.parse(r.out).data).toBe(Buffer.from(nodes.get('model:f')!.memory.subarray(0x10, 0x24)).toString('hex'));
    const file = join(dir, 'e.sbim');
    writeFileSync(file, encodeImage(image(500)));
    await run('push', file, '--port', 'model:f', '--slot', '1');
    expect(nodes.get('model:f')!.slots[1].state).toBe(SlotState.STAGED);
    expect((await run('erase', '1', '--port', 'model:f')).code).toBe(0);
    expect(nodes.get('model:f')!.slots[1].state).toBe(SlotState.EMPTY);
  });

  it('ports lists ports and says how it found them', async () => {
    const r = await run('ports', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Array.isArray(j.ports)).toBe(true);
    if (j.source === 'dev-scan') expect(r.err).toMatch(/scanned \/dev\/ttyUSB\* and \/dev\/ttyACM\*/);
  });
});
