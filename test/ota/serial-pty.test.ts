// The serialport link for real: host and model node each open one end of a socat pty pair
// through node-serialport's own binding, and an image crosses intact.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlotState } from '../../protocol/ts/index.ts';
import { realClock } from '../../host/src/transport/clock.ts';
import { openSerial } from '../../host/src/transport/serial.ts';
import { OtaClient } from '../../host/src/ota/client.ts';
import { push } from '../../host/src/ota/push.ts';
import { NodeModel } from './node-model.ts';
import { image } from './helpers.ts';

const hasSocat = existsSync('/usr/bin/socat');
let socat: ChildProcess;
const dir = mkdtempSync(join(tmpdir(), 'stageboot-pty-'));
const [a, b] = [join(dir, 'host'), join(dir, 'node')];

describe.skipIf(!hasSocat)('serialport link over a pty pair', () => {
  beforeAll(async () => {
    socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !(existsSync(a) && existsSync(b)); i++) await new Promise((r) => setTimeout(r, 20));
  });
  afterAll(() => { socat?.kill(); });

  it('pushes an image through the real serialport binding', async () => {
    const host = await openSerial(a, { baudRate: 115200 });
    const nodeEnd = await openSerial(b, { baudRate: 115200 });
    const node = new NodeModel(nodeEnd, realClock, { window: 4 });
    const client = new OtaClient(host);
    try {
      const img = image(8000, 11);
      const r = await push(client, img);
      expect(node.slots[r.slot].state).toBe(SlotState.STAGED);
      expect(node.payloadOf(r.slot)).toEqual(img.payload);
    } finally {
      client.close();
      await host.close();
      await nodeEnd.close();
    }
  });

  it('reports a port that does not exist as a link error', async () => {
    await expect(openSerial(join(dir, 'missing'), { baudRate: 115200 })).rejects.toThrow(/cannot open/);
  });
});
