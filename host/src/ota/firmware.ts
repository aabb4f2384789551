// Turns the file given to `push` into an image: a stageboot image file as it is, or HEX / ELF /
// bin packed for the node's chip with HEX's packFirmware, which checks the target and that the
// application stays below the node's bootloader. All of this happens before any byte is sent
// to a slot, so a wrong file is refused with the node untouched.
import { CliError } from '../cli/errors.ts';
import { chooseTarget, cliErrorOf, loadForCli } from '../cli/commands/firmware-input.ts';
import { packFirmware } from '../image/pack.ts';
import { imageHeaderOf } from '../formats/image.ts';
import type { Firmware } from '../formats/load.ts';
import { flatten } from '../formats/memory.ts';
import { TargetError } from '../targets/index.ts';
import { decodeImage } from '../../../protocol/ts/index.ts';
import type { NodeInfo } from './client.ts';
import type { PushImage } from './push.ts';

export interface ImageChoices {
  target?: string;
  appVersion?: number;
  confirms?: boolean;
}

export async function loadPushFile(file: string): Promise<Firmware> {
  const fw = await loadForCli(file);
  if (fw.segments.length === 0) throw new CliError(`${fw.name} holds no flash bytes to push`, 'empty-firmware', 1);
  return fw;
}

/** The image to send: the file's own header for an image file, else packed for this node. */
export function imageFor(fw: Firmware, info: NodeInfo, c: ImageChoices = {}): PushImage & { packed: boolean } {
  const header = imageHeaderOf(fw);
  if (header) {
    const start = header.loadAddr;
    return { header, payload: flatten(fw.segments, start, start + header.length), packed: false };
  }
  const { part } = chooseTarget(c.target, fw);
  const bootSize = info.flashSize - info.appMax;
  const opts = { appVersion: c.appVersion ?? 0, confirms: c.confirms ?? false };
  try {
    let packed;
    try {
      packed = packFirmware(fw, part, { ...opts, bootSize });
    } catch (err) {
      // A part whose stageboot boot section is no BOOTSZ choice still gets a checked image:
      // push() compares the image's end against appMax.
      if (!(err instanceof TargetError && err.code === 'bad-boot-size')) throw err;
      packed = packFirmware(fw, part, { ...opts, bootSize: 0 });
    }
    const img = decodeImage(packed.image);
    return { ...img, packed: true };
  } catch (err) {
    if (err instanceof TargetError) throw cliErrorOf(err, 1);
    throw err;
  }
}
