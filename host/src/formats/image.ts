// The stageboot image file as a firmware input. The format itself (header layout, magic,
// CRCs) belongs to protocol/; this adapter only lets loadFirmware() recognise an image and
// present its payload like any other firmware, keeping the header in `details.header`.
import { decodeImage, isImage, ProtocolError, type ImageHeader } from '../../../protocol/ts/index.ts';
import { FormatError } from './errors.ts';
import type { Firmware, FirmwareFormat } from './load.ts';

export const imageFormat: FirmwareFormat = {
  kind: 'image',
  description: 'stageboot image',
  extensions: ['.sbim'],
  detect: isImage,
  read(bytes, name): Firmware {
    try {
      const { header, payload } = decodeImage(bytes);
      return {
        kind: 'image',
        name,
        segments: payload.length ? [{ address: header.loadAddr, data: payload }] : [],
        signature: Uint8Array.from(header.signature),
        details: { header },
      };
    } catch (err) {
      if (err instanceof ProtocolError) throw new FormatError(`${name}: ${err.message}`, `image-${err.code}`, name);
      throw err;
    }
  },
};

/** The header of a firmware loaded from an image file, if it was one. */
export function imageHeaderOf(fw: Firmware): ImageHeader | undefined {
  return fw.kind === 'image' ? (fw.details?.header as ImageHeader | undefined) : undefined;
}
