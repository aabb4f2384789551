// Puts a SimNode behind a pseudo-terminal so any program (avrdude, a terminal emulator, the
// stageboot CLI) can open PATH as if it were the board's USB serial port.
//
// socat owns the pty (`pty,raw,echo=0,link=PATH`) and relays it over its stdin/stdout pipes to
// this process, which feeds the node's UART. The node's clock is paced to the wall clock
// (speed 1 by default) because whoever is on the other end measures its timeouts in real time,
// and so does the firmware. A pty has no DTR: QuietSpellReset turns the start of a session
// into an external reset instead.

import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readlinkSync, unlinkSync, existsSync } from 'node:fs';
import type { SimNode } from '../node.ts';
import { QuietSpellReset, type AutoResetOptions } from './auto-reset.ts';
import { SimRunner } from './runner.ts';

export interface PtyLinkOptions {
  /** Where the pty appears (a symlink to /dev/pts/N). */
  path: string;
  /** Simulated seconds per wall-clock second; default 1 (real time). */
  speed?: number;
  /** false: never reset the node on a session start. Otherwise options of QuietSpellReset. */
  autoReset?: false | AutoResetOptions;
  /** Every byte the node sends, as it is sent (also goes to the pty). */
  onSerial?: (bytes: Uint8Array) => void;
  /** Link events (socat started, session reset, runner error) as text. */
  log?: (line: string) => void;
  /** The simulation threw; the link has stopped its clock. */
  onError?: (err: unknown) => void;
  /** Milliseconds to wait for socat to create the pty; default 5000. */
  startTimeoutMs?: number;
}

export interface PtyLinkStats {
  bytesFromHost: number;
  bytesToHost: number;
  sessions: number;
  /** The node's clock, in simulated seconds. */
  simSeconds: number;
}

export class PtyLink {
  readonly runner: SimRunner;
  readonly autoReset: QuietSpellReset | null;
  private bytesFromHost = 0;
  private bytesToHost = 0;
  private closed = false;
  private readonly exited: Promise<void>;
  private unsubscribe: (() => void) | null = null;

  private constructor(
    readonly node: SimNode,
    readonly path: string,
    /** The pty's real device, /dev/pts/N. */
    readonly device: string,
    private readonly socat: ChildProcess,
    private readonly opts: PtyLinkOptions,
  ) {
    const log = opts.log ?? (() => {});
    this.exited = new Promise((resolve) => socat.once('exit', () => resolve()));
    this.runner = new SimRunner(node, {
      speed: opts.speed ?? 1,
      onError: (err) => {
        log(`simulation stopped: ${(err as Error)?.message ?? err}`);
        opts.onError?.(err);
      },
    });
    this.autoReset =
      opts.autoReset === false
        ? null
        : new QuietSpellReset(node, {
            ...opts.autoReset,
            onReset: (info) => {
              log(`session ${info.sessions}: host started talking${info.quietMs >= 0 ? ` after ${(info.quietMs / 1000).toFixed(2)} s of silence` : ''}: external reset`);
              opts.autoReset && opts.autoReset.onReset?.(info);
            },
          });
    this.unsubscribe = node.uart.onData((bytes) => {
      this.bytesToHost += bytes.length;
      if (!this.closed) socat.stdin?.write(bytes);
      opts.onSerial?.(bytes);
    });
    socat.stdout?.on('data', (chunk: Buffer) => this.fromHost(chunk));
    socat.once('exit', (code, signal) => {
      if (!this.closed) {
        log(`socat exited unexpectedly (${signal ?? code})`);
        this.runner.stop();
        opts.onError?.(new Error(`socat exited (${signal ?? code})`));
      }
    });
    this.runner.start();
  }

  /** Start socat, wait for the pty to appear, and start the node's clock. */
  static async open(node: SimNode, opts: PtyLinkOptions): Promise<PtyLink> {
    removeStaleLink(opts.path);
    const socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${opts.path}`, 'STDIO'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const device = await waitForPty(socat, opts.path, opts.startTimeoutMs ?? 5000);
    // socat's later chatter on stderr is of no interest, but the pipe must keep draining.
    socat.stderr?.resume();
    opts.log?.(`pty ${opts.path} -> ${device} (socat pid ${socat.pid})`);
    return new PtyLink(node, opts.path, device, socat, opts);
  }

  get stats(): PtyLinkStats {
    return {
      bytesFromHost: this.bytesFromHost,
      bytesToHost: this.bytesToHost,
      sessions: this.autoReset?.sessions ?? 0,
      simSeconds: this.node.seconds,
    };
  }

  /** Stop the clock and socat; socat removes the PATH symlink as it exits. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.runner.stop();
    this.unsubscribe?.();
    this.socat.kill('SIGTERM');
    const killer = setTimeout(() => this.socat.kill('SIGKILL'), 2000);
    await this.exited;
    clearTimeout(killer);
    removeOwnLink(this.path, this.device);
  }

  private fromHost(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesFromHost += chunk.length;
    const bytes = new Uint8Array(chunk);
    this.runner.hostInput(() => {
      if (this.autoReset) this.autoReset.hostBytes(bytes);
      else this.node.uart.write(bytes);
    });
  }
}

function removeOwnLink(path: string, device: string): void {
  try {
    if (lstatSync(path).isSymbolicLink() && readlinkSync(path) === device) unlinkSync(path);
  } catch {
    /* already gone: socat removed it */
  }
}

/** A PATH left behind by a killed run points at a pty that no longer exists: remove it. */
function removeStaleLink(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSymbolicLink()) throw new Error(`${path} exists and is not a symlink left by a pty link; not touching it`);
  const target = readlinkSync(path);
  if (!target.startsWith('/dev/pts/')) throw new Error(`${path} points at ${target}, not a pty; not touching it`);
  // A live target may be another simulator's pty, or a pts number reused since a crash:
  // there is no telling them apart from here, so leave the decision to the user.
  if (existsSync(target)) throw new Error(`${path} already points at the live pty ${target}; remove it if no simulator is using it`);
  unlinkSync(path);
}

function waitForPty(socat: ChildProcess, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    const done = (err: Error | null, device?: string) => {
      clearTimeout(timer);
      socat.stderr?.off('data', onData);
      socat.off('exit', onExit);
      socat.off('error', onSpawnError);
      if (err) {
        socat.kill('SIGKILL');
        reject(err);
      } else resolve(device!);
    };
    const onData = (chunk: Buffer) => {
      stderr += chunk.toString();
      const pty = /PTY is (\S+)/.exec(stderr);
      // socat creates the symlink right after it names the pty; the transfer loop comes last.
      if (pty && /starting data transfer loop/.test(stderr) && existsSync(path)) done(null, pty[1]);
    };
    const onExit = (code: number | null) => done(new Error(`socat exited (${code}) before creating ${path}: ${stderr.trim()}`));
    const onSpawnError = (err: Error) => done(new Error(`cannot start socat (is it installed?): ${err.message}`));
    const timer = setTimeout(() => done(new Error(`socat did not create ${path} within ${timeoutMs} ms: ${stderr.trim()}`)), timeoutMs);
    socat.stderr?.on('data', onData);
    socat.once('exit', onExit);
    socat.once('error', onSpawnError);
  });
}
