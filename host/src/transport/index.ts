// The byte links the protocol runs over. See link.ts for the interface.
export * from './clock.ts';
export * from './link.ts';
export * from './loopback.ts';
export * from './faults.ts';
export * from './framing.ts';
export * from './serial.ts';
export * from './ports.ts';
export * from './open.ts';
