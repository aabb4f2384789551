// Runs the real avrdude (Debian's 7.1) against a port and reads what it reports: exit code,
// whether the verify passed, and the durations of its Writing/Reading progress bars.
import { spawn } from 'node:child_process';

export interface AvrdudeResult {
  code: number | null;
  /** stdout + stderr, as printed. */
  output: string;
  /** Seconds of the "Writing | ### | 100% 4.09s" bar, if there was one. */
  writeSeconds?: number;
  /** Seconds of the "Reading | ### | 100% 2.77s" bar (the read-back verify). */
  readSeconds?: number;
  /** Bytes avrdude reports as "N bytes of flash verified". */
  verifiedBytes?: number;
}

export function parseAvrdude(output: string): Omit<AvrdudeResult, 'code' | 'output'> {
  const bar = (verb: string) => {
    const m = new RegExp(`${verb} \\| #+ \\| 100% ([\\d.]+)s`).exec(output);
    return m ? Number(m[1]) : undefined;
  };
  const v = /(\d+) bytes of flash verified/.exec(output);
  return { writeSeconds: bar('Writing'), readSeconds: bar('Reading'), verifiedBytes: v ? Number(v[1]) : undefined };
}

/** avrdude -c arduino -p m328p -P port -b baud -U flash:w:hex:i (verify on, as by default). */
export function uploadWithAvrdude(port: string, hexFile: string, baud = 115200, timeoutMs = 90_000): Promise<AvrdudeResult> {
  const args = ['-c', 'arduino', '-p', 'm328p', '-P', port, '-b', String(baud), '-U', `flash:w:${hexFile}:i`];
  return new Promise((resolve, reject) => {
    const child = spawn('avrdude', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run avrdude (is it installed?): ${err.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ...parseAvrdude(output) });
    });
  });
}

/**
 * One avrdude upload of `hexFile` into a fresh `stageboot sim --pty` node carrying `bootloader`
 * (real-time pace), as a user would do it. Throws with avrdude's output if it does not verify.
 */
export async function uploadThroughSim(bootloader: string, hexFile: string, bytes: number, baud = 115200): Promise<AvrdudeResult & { writeSeconds: number; readSeconds: number }> {
  const { SimCli } = await import('./sim-cli.ts');
  const sim = await SimCli.start(['--bootloader', bootloader, '--baud', String(baud)]);
  try {
    const r = await uploadWithAvrdude(sim.pty, hexFile, baud);
    if (r.code !== 0 || r.verifiedBytes !== bytes || r.writeSeconds === undefined || r.readSeconds === undefined) {
      const why = /avrdude error: [^\n]*/.exec(r.output)?.[0] ?? `exit ${r.code}`;
      throw Object.assign(new Error(`avrdude upload through ${bootloader} failed: ${why}`), { output: r.output });
    }
    return { ...r, writeSeconds: r.writeSeconds, readSeconds: r.readSeconds };
  } finally {
    await sim.stop();
  }
}
