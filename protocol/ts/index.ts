// The TypeScript side of the protocol: generated constants and layouts plus the codecs.
export * from '../generated/protocol.ts';
export * from './struct.ts';
export * from './crc.ts';
export * from './image.ts';
export * from './chips.ts';
export * from './fs.ts';
export * from './frame.ts';
