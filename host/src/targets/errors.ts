// Errors about the chip a firmware is for: unknown part, wrong chip, image too big.
export type TargetFault = 'unknown-target' | 'wrong-target' | 'image-too-big' | 'eeprom-too-big' | 'bad-boot-size' | 'avrdude-conf';

export class TargetError extends Error {
  constructor(
    message: string,
    readonly code: TargetFault,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TargetError';
  }
}
