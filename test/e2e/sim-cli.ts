// Runs `stageboot sim --pty` as a child process, the way a user would, and follows its
// --json event stream: the node's serial output, resets, and the final stats.
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../firmware/build.ts';

export interface SimEvent {
  event: string;
  [k: string]: unknown;
}

export class SimCli {
  readonly events: SimEvent[] = [];
  /** Everything the node sent on its serial line, as latin1 text. */
  serial = '';
  /** After stop(): whether the pty symlink was still there once the simulator exited. */
  ptyLeftBehind = false;
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private readonly waiters: (() => void)[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly pty: string,
    private readonly dir: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buf += chunk;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.onEvent(JSON.parse(buf.slice(0, nl)) as SimEvent);
        buf = buf.slice(nl + 1);
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.stderr += c));
  }

  /** Start the simulator with these extra arguments; resolves once the pty exists. */
  static async start(args: string[]): Promise<SimCli> {
    const dir = mkdtempSync(join(tmpdir(), 'stageboot-sim-'));
    const pty = join(dir, 'node0');
    const child = spawn(process.execPath, [join(repoRoot, 'host/bin/stageboot.mjs'), 'sim', '--pty', pty, '--json', ...args], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const sim = new SimCli(child, pty, dir);
    await sim.waitFor(() => sim.events.some((e) => e.event === 'ready'), 20_000, 'the ready event');
    return sim;
  }

  /** Resolves when `pred` holds; checked on every event. */
  waitFor(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check) >>> 0, 1);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(check) >>> 0, 1);
        reject(new Error(`stageboot sim: no ${what} within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`));
      }, timeoutMs);
      this.waiters.push(check);
      void this.exited.then(() => {
        if (this.waiters.includes(check)) {
          clearTimeout(timer);
          reject(new Error(`stageboot sim exited before ${what}; stderr: ${this.stderr.slice(-2000)}`));
        }
      });
    });
  }

  /** Serial text received after character offset `from` (e.g. serial.length before an action). */
  serialSince(from: number): string {
    return this.serial.slice(from);
  }

  /** SIGINT, as Ctrl-C would; resolves with the exit code. Cleans the temporary folder. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    const code = await this.exited;
    clearTimeout(kill);
    this.ptyLeftBehind = lstatExists(this.pty); // lstat: a dangling symlink counts too
    rmSync(this.dir, { recursive: true, force: true });
    return code;
  }

  private onEvent(e: SimEvent): void {
    this.events.push(e);
    if (e.event === 'serial') this.serial += e.text as string;
    for (const w of [...this.waiters]) w();
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
