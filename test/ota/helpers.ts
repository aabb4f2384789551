// Test rig: host client and model node joined by a paced loopback wire on a virtual clock,
// optionally through the fault-injection link.
import { makeHeader, type ImageHeader } from '../../protocol/ts/index.ts';
import { VirtualClock } from '../../host/src/transport/clock.ts';
import { FaultyLink, type FaultOptions } from '../../host/src/transport/faults.ts';
import { loopbackPair } from '../../host/src/transport/loopback.ts';
import { OtaClient } from '../../host/src/ota/client.ts';
import type { SessionOptions } from '../../host/src/ota/session.ts';
import { NodeModel, pseudoRandom, type ModelOptions } from './node-model.ts';

export interface Rig {
  clock: VirtualClock;
  client: OtaClient;
  node: NodeModel;
  faults: FaultyLink;
}

export function rig(o: { baud?: number; faults?: FaultOptions; node?: ModelOptions; session?: SessionOptions; mtu?: number } = {}): Rig {
  const clock = new VirtualClock();
  const [hostEnd, nodeEnd] = loopbackPair({ clock, baud: o.baud ?? 115200, mtu: o.mtu });
  const faults = new FaultyLink(hostEnd, { clock, ...o.faults });
  const node = new NodeModel(nodeEnd, clock, o.node);
  const client = new OtaClient(faults, { clock, ...o.session });
  return { clock, client, node, faults };
}

/** A deterministic pseudo-random payload, like a compiled sketch (no long runs of 0xFF). */
export function payload(length: number, seed = 7): Uint8Array {
  return pseudoRandom(length, seed);
}

export function image(length: number, seed = 7, signature = [0x1e, 0x95, 0x0f]): { header: ImageHeader; payload: Uint8Array } {
  const p = payload(length, seed);
  return { header: makeHeader(p, { signature: Uint8Array.from(signature) }), payload: p };
}
