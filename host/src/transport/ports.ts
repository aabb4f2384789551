// Finding serial ports. SerialPort.list() asks udevadm on Linux; minimal machines and
// containers have none, so we fall back to scanning /dev for the usual USB-serial names and
// say that we did.
import { readdir } from 'node:fs/promises';
import { SerialPort } from 'serialport';

export interface PortEntry {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export interface PortList {
  ports: PortEntry[];
  /** How the list was made: 'serialport' (udev) or 'dev-scan' (fallback). */
  source: 'serialport' | 'dev-scan';
  /** Why the fallback was used, for the user. */
  note?: string;
}

const DEV_PATTERN = /^tty(USB|ACM)\d+$/;

export async function scanDev(dir = '/dev'): Promise<PortEntry[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => DEV_PATTERN.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => ({ path: `${dir}/${n}` }));
}

export async function listPorts(list: () => Promise<PortEntry[]> = () => SerialPort.list()): Promise<PortList> {
  try {
    const ports = await list();
    return { ports: ports.map(({ path, manufacturer, serialNumber, vendorId, productId }) => clean({ path, manufacturer, serialNumber, vendorId, productId })), source: 'serialport' };
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    return {
      ports: await scanDev(),
      source: 'dev-scan',
      note: `could not list ports through udev (${why}); scanned /dev/ttyUSB* and /dev/ttyACM* instead`,
    };
  }
}

function clean(p: PortEntry): PortEntry {
  return Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) as unknown as PortEntry;
}
