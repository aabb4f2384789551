// Why an OTA operation failed, in words a user can act on. `kind` decides the CLI's exit code:
// 'refused' (the node or the host said no: 1) or 'link' (no reply, port gone: 3).
import { Msg, Status } from '../../../protocol/ts/index.ts';

export type OtaErrorKind = 'refused' | 'link';

export class OtaError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly kind: OtaErrorKind = 'refused',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'OtaError';
  }
}

const statusNames = Object.fromEntries(Object.entries(Status).map(([k, v]) => [v, k])) as Record<number, string>;
const msgNames = Object.fromEntries(Object.entries(Msg).map(([k, v]) => [v, k])) as Record<number, string>;

export function statusName(s: number): string {
  return statusNames[s] ?? `status 0x${s.toString(16).padStart(2, '0')}`;
}

export function msgName(t: number): string {
  return msgNames[t & 0x7f] ?? `type 0x${t.toString(16).padStart(2, '0')}`;
}

/** What each refusal means to someone holding the CLI. */
const explain: Record<number, string> = {
  [Status.BAD_FRAME]: 'the node could not parse the request (host and node disagree on the protocol?)',
  [Status.UNKNOWN_TYPE]: 'the node does not know this request (older firmware?)',
  [Status.BAD_SLOT]: 'no such slot on this node',
  [Status.WRONG_TARGET]: 'the image was built for another chip',
  [Status.TOO_BIG]: 'the image is too big for the slot or for the flash below the bootloader',
  [Status.BAD_HEADER]: 'the image header is malformed or its CRC is wrong',
  [Status.BUSY]: 'the node is busy',
  [Status.NOT_RECEIVING]: 'no transfer is under way in that slot',
  [Status.BAD_CRC]: 'CRC mismatch: the payload in the EEPROM does not match the image header',
  [Status.NOT_STAGED]: 'the slot does not hold a complete, checked image',
  [Status.NO_BACKUP_ROOM]: 'no room for a backup: a trial needs a free slot to save the running image in (use --activate now)',
  [Status.SLOT_IN_USE]: 'the slot is in use (pending, installing, or the backup of a running trial)',
  [Status.EEPROM_ERROR]: 'the node\'s EEPROM did not answer on I2C',
  [Status.NOT_TRIAL]: 'no trial is running, so there is nothing to confirm',
  [Status.BAD_RANGE]: 'address or chunk out of range',
  [Status.NOT_FORMATTED]: 'the node\'s EEPROM is not formatted',
  [Status.STALE]: 'the record changed since the host read it',
};

const codes: Record<number, string> = {
  [Status.WRONG_TARGET]: 'wrong-target',
  [Status.TOO_BIG]: 'too-big',
  [Status.BAD_CRC]: 'crc-mismatch',
  [Status.BUSY]: 'node-busy',
  [Status.SLOT_IN_USE]: 'slot-in-use',
  [Status.NO_BACKUP_ROOM]: 'no-backup-room',
};

/**
 * The error for a refusal: a reply whose status is not OK (`by` the node), or the host's own
 * verdict on the node's records before it sends anything (`by` the host: protocol 2 leaves the
 * file system's policy to the host, so ACTIVATE, ERASE and FORMAT are host operations that
 * keep their names, and BEGIN's checks happen here). Both read alike and carry the same code.
 */
export function refusal(op: number | string, status: number, context = '', by: 'node' | 'host' = 'node'): OtaError {
  const what = explain[status] ?? 'refused';
  const code = codes[status] ?? statusName(status).toLowerCase().replace(/_/g, '-');
  const name = typeof op === 'string' ? op : msgName(op);
  return new OtaError(`${name}${context ? ` ${context}` : ''} refused${by === 'node' ? ' by the node' : ''}: ${what} (${statusName(status)})`, code, 'refused', { status: statusName(status) });
}

/** A refusal decided by the host from what the node reported: nothing was written. */
export function hostRefusal(op: number | string, status: number, context = ''): OtaError {
  return refusal(op, status, context, 'host');
}
