// I2C EEPROM geometries that stageboot knows by name. Any other chip is given by size and
// page size on the command line (parseChip accepts "SIZE:PAGE", e.g. "32768:64").
export interface ChipGeometry {
  name: string;
  size: number;
  pageSize: number;
  /** Bytes addressed by one device address; above it the chip switches bank (24LC1025). */
  bankSize: number;
}

export const chips: Record<string, ChipGeometry> = {
  '24LC256': { name: '24LC256', size: 32 * 1024, pageSize: 64, bankSize: 64 * 1024 },
  '24LC512': { name: '24LC512', size: 64 * 1024, pageSize: 128, bankSize: 64 * 1024 },
  '24LC1025': { name: '24LC1025', size: 128 * 1024, pageSize: 128, bankSize: 64 * 1024 },
};

export function parseChip(spec: string): ChipGeometry {
  const known = chips[spec.toUpperCase()];
  if (known) return known;
  const m = /^(\d+)(k?):(\d+)$/i.exec(spec);
  if (!m) throw new Error(`unknown EEPROM chip "${spec}": use ${Object.keys(chips).join(', ')} or SIZE:PAGE (e.g. 32k:64)`);
  const size = Number(m[1]) * (m[2] ? 1024 : 1);
  const pageSize = Number(m[3]);
  if (!isPow2(pageSize) || pageSize < 8 || pageSize > 512) throw new Error(`EEPROM page size ${pageSize} must be a power of two from 8 to 512`);
  if (size % pageSize !== 0 || size < 4096) throw new Error(`EEPROM size ${size} must be at least 4096 and a multiple of the page size`);
  return { name: `${size}:${pageSize}`, size, pageSize, bankSize: Math.min(size, 64 * 1024) };
}

export function isPow2(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
