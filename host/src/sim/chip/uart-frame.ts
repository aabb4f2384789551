// What a UART receiver makes of a frame sent at a different baud rate. Both ends of the
// simulated wire use this: the node's receiver samples the host's frames and the host samples
// the node's. The receiver samples each bit in its middle, timed from the start bit's falling
// edge, so a small rate error is harmless and a large one shifts the samples into the wrong bits.

export interface FrameFormat {
  dataBits: number; // 5..8
  stopBits: number; // 1 or 2
}

export const FORMAT_8N1: FrameFormat = { dataBits: 8, stopBits: 1 };

export interface SampledFrame {
  value: number;
  frameError: boolean;
}

/**
 * Sample one frame. `txBit` and `rxBit` are bit times in any common unit. The line is idle
 * (high) after the sender's stop bits; a following frame's start bit is not modelled.
 */
export function sampleFrame(byte: number, txBit: number, rxBit: number, format = FORMAT_8N1): SampledFrame {
  if (txBit === rxBit) return { value: byte & ((1 << format.dataBits) - 1), frameError: false };
  const txBits = 1 + format.dataBits + format.stopBits;
  const level = (t: number): number => {
    const i = Math.floor(t / txBit);
    if (i <= 0) return 0; // start bit
    if (i > format.dataBits || i >= txBits) return 1; // stop bits, then idle
    return (byte >> (i - 1)) & 1;
  };
  let value = 0;
  for (let k = 1; k <= format.dataBits; k++) {
    value |= level((k + 0.5) * rxBit) << (k - 1);
  }
  const stop = level((format.dataBits + 1.5) * rxBit);
  return { value, frameError: stop === 0 };
}
