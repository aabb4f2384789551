// Build-time sizes of the library, shared by the C++ and the assembly (only #defines here).
//
// STAGEBOOT_MAX_CHUNK: the largest DATA chunk the node takes, 64 (default) or 128. Pass
// -DSTAGEBOOT_MAX_CHUNK=128 (or edit the default below) when the EEPROM has 128-byte pages
// (24LC512, 24LC1025): each chunk then fills a page, so a write cycle writes twice the bytes and
// a frame carries 128 B for 8 B of overhead (94 % of the wire instead of 89 %). The two builds
// use about the same SRAM, differently:
//   64:  a 72-byte frame buffer and a 64-byte page buffer: a chunk is copied into the page
//        buffer and acknowledged as soon as the chip has taken it; the next one travels during
//        the write cycle and waits in the frame buffer.
//   128: a 136-byte frame buffer and a 56-byte record buffer: a chunk goes to the chip straight
//        from the frame buffer and its ACK waits until the write cycle is over, so the next
//        one, which travels meanwhile, finds the chip ready.
// A 128 build serves a 24LC256 too, with 64-byte chunks.
#ifndef STAGEBOOT_SB_CONFIG_H
#define STAGEBOOT_SB_CONFIG_H

#ifndef STAGEBOOT_MAX_CHUNK
#define STAGEBOOT_MAX_CHUNK 64
#endif

#if STAGEBOOT_MAX_CHUNK == 64
#define SB_CHUNK_SHIFT 6
#elif STAGEBOOT_MAX_CHUNK == 128
#define SB_CHUNK_SHIFT 7
#else
#error "STAGEBOOT_MAX_CHUNK must be 64 or 128"
#endif

#define SB_MAX_CHUNK STAGEBOOT_MAX_CHUNK
// Largest frame payload the node takes or sends: a DATA request (chunk index + chunk).
#define SB_MAX_PAYLOAD (2 + SB_MAX_CHUNK)

#endif
