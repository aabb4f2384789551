import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { confPartToTarget, loadAvrdudeParts, parseAvrdudeConf } from './avrdude-conf.ts';
import { TargetError } from './errors.ts';
import { builtInParts } from './parts.ts';

const CONF = '/etc/avrdude.conf';

describe('the installed avrdude.conf', () => {
  const parts = loadAvrdudeParts(CONF);
  const byId = (id: string) => parts.find((p) => p.id === id);

  it('yields hundreds of parts', () => {
    expect(parts.length).toBeGreaterThan(250);
  });

  it('describes the ATmega328P through its parent m328', () => {
    // m328p only overrides desc, id and signature; flash, EEPROM and boot sizes come from m328.
    expect(readFileSync(CONF, 'latin1')).toMatch(/part parent "m328"\s+desc\s+= "ATmega328P";/);
    expect(byId('m328p')).toEqual({
      id: 'm328p',
      name: 'ATmega328P',
      signature: [0x1e, 0x95, 0x0f],
      flashSize: 32768,
      pageSize: 128,
      eepromSize: 1024,
      bootWords: [256, 512, 1024, 2048],
      source: 'avrdude.conf',
    });
  });

  it('describes the ATmega2560', () => {
    expect(byId('m2560')).toMatchObject({ name: 'ATmega2560', signature: [0x1e, 0x98, 0x01], flashSize: 262144, pageSize: 256, eepromSize: 4096, bootWords: [512, 1024, 2048, 4096] });
  });

  it('describes the ATtiny85, which stageboot has no built-in entry for', () => {
    expect(builtInParts.find((p) => p.id === 't85')).toBeUndefined();
    expect(byId('t85')).toMatchObject({ name: 'ATtiny85', signature: [0x1e, 0x93, 0x0b], flashSize: 8192, pageSize: 64, eepromSize: 512, bootWords: [] });
  });

  it('leaves out templates such as .xmega', () => {
    expect(parts.some((p) => p.id.startsWith('.'))).toBe(false);
  });

  it.each(builtInParts.map((p) => [p.name, p] as const))('agrees with the built-in %s', (_name, builtIn) => {
    const { sramSize: _sram, source: _source, ...figures } = builtIn;
    expect(byId(builtIn.id)).toMatchObject(figures);
  });
});

describe('avrdude.conf grammar', () => {
  const conf = `
# comment with "quotes" and ; semicolons
default_programmer = "arduino";
programmer
    id = "p1";
    desc = "a programmer";
    usbpid = 0x2104, 0x2105;
    prog_modes = PM_ISP | PM_TPI;
;
part
    id = "base";
    desc = "Base";
    signature = 0x1e 0x90 0x01;
    n_boot_sections = 4;
    boot_section_size = 256;
    memory "flash"
        size = 0x2000;
        page_size = 64;
    ;
    memory "eeprom"
        size = 512;
    ;
    memory "efuse"
        size = 1;
    ;
;
part parent "base"
    id = "child";
    desc = "Child";
    signature = 0x1e 0x90 0x02;
    boot_section_size = NULL;
    memory "flash"
        page_size = 128;
    ;
    memory "eeprom" = NULL;
    memory "wdtcfg"
        alias "efuse";
    ;
;
`;

  it('inherits, extends memories, and removes with NULL', () => {
    const parts = parseAvrdudeConf(conf, 'test.conf');
    expect(parts.map((p) => p.id)).toEqual(['base', 'child']);
    const child = parts[1];
    expect(child.parent).toBe('base');
    expect(child.memories.flash.props).toEqual({ size: ['0x2000'], page_size: ['128'] });
    expect(child.memories.eeprom).toBeUndefined();
    expect(child.memories.wdtcfg.props.alias).toEqual(['efuse']);
    expect(child.props.boot_section_size).toBeUndefined();
    expect(confPartToTarget(child)).toMatchObject({ signature: [0x1e, 0x90, 0x02], flashSize: 0x2000, pageSize: 128, eepromSize: 0, bootWords: [] });
    expect(confPartToTarget(parts[0])).toMatchObject({ pageSize: 64, eepromSize: 512, bootWords: [128, 256, 512, 1024] });
  });

  it('reports a syntax error with its line', () => {
    const bad = 'part\n  id = "x";\n  memory flash\n  ;\n;\n';
    expect(() => parseAvrdudeConf(bad, 'bad.conf')).toThrow(TargetError);
    expect(() => parseAvrdudeConf(bad, 'bad.conf')).toThrow(/^bad.conf line 3: memory needs a quoted name, found flash$/);
    expect(() => parseAvrdudeConf('part parent "nope"\n id = "y";\n;\n', 'bad.conf')).toThrow(/line 1: part parent "nope" is not defined/);
    expect(() => parseAvrdudeConf('part\n id = "x";\n', 'bad.conf')).toThrow(/unexpected end of file/);
  });
});
