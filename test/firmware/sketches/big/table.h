// A large, deterministic, non-blank PROGMEM table that brings the sketch to ~29 KiB.
// Its bytes come from a fixed multiplicative hash of the index, spelled out by the
// preprocessor (C++11 has no index_sequence), so every build produces the same image.
#pragma once
#include <avr/pgmspace.h>

#define TB1(i) (uint8_t)(((uint32_t)(i) * 2654435761UL) >> 19)
#define TB4(i) TB1(i), TB1((i) + 1), TB1((i) + 2), TB1((i) + 3)
#define TB16(i) TB4(i), TB4((i) + 4), TB4((i) + 8), TB4((i) + 12)
#define TB64(i) TB16(i), TB16((i) + 16), TB16((i) + 32), TB16((i) + 48)
#define TB256(i) TB64(i), TB64((i) + 64), TB64((i) + 128), TB64((i) + 192)
#define TB1024(i) TB256(i), TB256((i) + 256), TB256((i) + 512), TB256((i) + 768)
#define TB4096(i) TB1024(i), TB1024((i) + 1024), TB1024((i) + 2048), TB1024((i) + 3072)

// Size tuned so the whole sketch lands between 29,000 and 29,500 bytes of flash.
const uint8_t BIG_TABLE[] PROGMEM = {
  TB4096(0), TB4096(4096), TB4096(8192), TB4096(12288), TB4096(16384),
  TB1024(20480), TB1024(21504), TB256(22528), TB64(22784), TB64(22848), TB64(22912),
};
