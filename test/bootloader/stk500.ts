// A small STK500v1 client over the simulated node's serial line, speaking as avrdude -c arduino
// does: one command, then wait for its whole reply.
import type { SimNode } from '../../host/src/sim/index.ts';

export const STK = {
  INSYNC: 0x14, OK: 0x10, EOP: 0x20,
  GET_SYNC: 0x30, GET_PARAMETER: 0x41, SET_DEVICE: 0x42, SET_DEVICE_EXT: 0x45, ENTER_PROGMODE: 0x50,
  LEAVE_PROGMODE: 0x51, LOAD_ADDRESS: 0x55, UNIVERSAL: 0x56, PROG_PAGE: 0x64, READ_PAGE: 0x74, READ_SIGN: 0x75,
} as const;

export const PAGE = 128;

export interface Exchange {
  reply: number[];
  /** Cycle at which the host started sending, and at which its last byte ended. */
  sentFrom: number;
  sentTo: number;
  /** Cycle at which the last reply byte arrived (or the time-out). */
  doneAt: number;
}

export class Stk500 {
  constructor(private readonly node: SimNode) {}

  /** Sends `bytes` and runs until `replyLen` bytes came back or `seconds` passed. */
  xfer(bytes: readonly number[], replyLen: number, seconds = 0.5): Exchange {
    const got: number[] = [];
    const off = this.node.uart.onData((b) => got.push(...b));
    const sentFrom = this.node.cycles;
    const byteCycles = (10 * this.node.clockHz) / this.node.uart.baud;
    this.node.uart.write(bytes);
    this.node.runUntil(() => got.length >= replyLen, Math.round(seconds * this.node.clockHz), 64);
    off();
    return { reply: got, sentFrom, sentTo: sentFrom + bytes.length * byteCycles, doneAt: this.node.cycles };
  }

  cmd(bytes: readonly number[], replyLen = 2): number[] {
    return this.xfer([...bytes, STK.EOP], replyLen).reply;
  }

  loadAddress(byteAddr: number): number[] {
    const w = byteAddr >> 1;
    return this.cmd([STK.LOAD_ADDRESS, w & 0xff, w >> 8]);
  }

  progPage(data: Uint8Array): Exchange {
    return this.xfer([STK.PROG_PAGE, data.length >> 8, data.length & 0xff, 0x46, ...data, STK.EOP], 2);
  }

  readPage(len = PAGE): number[] {
    return this.cmd([STK.READ_PAGE, len >> 8, len & 0xff, 0x46], len + 2);
  }
}
