// Host-side driver for the C protocol core of sketch-lib (sb_core.cpp), compiled with g++.
// Reads one command per line on stdin and prints one answer line, so vectors.test.ts can feed
// it protocol/vectors/ and random cases and compare with the TypeScript implementation.
//
//   crc16 HEX | crc32 HEX                 -> hex CRC
//   frame TYPE SEQ HEX                    -> the encoded frame, hex
//   decode HEX                            -> "type seq payload" of each frame found, ';'-separated
//                                            ('.' in HEX: the line goes idle there)
//   header HEX                            -> valid | bad
//   plan SIZE PAGE SLOTS                  -> pitch dataStart slotSize superblock-hex | refused
//   pick KIND A-HEX B-HEX                 -> winner(A|B|none) nextSeq writeTo(A|B)
//   ack CUM SEL CHUNK                     -> new|dup|beyond, then cum sel after marking a new chunk
// HEX "-" is empty.
#include "sb_core.h"
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

static std::vector<uint8_t> unhex(const std::string &s) {
  std::vector<uint8_t> v;
  if (s == "-") return v;
  for (size_t i = 0; i + 1 < s.size(); i += 2) v.push_back((uint8_t)std::stoul(s.substr(i, 2), nullptr, 16));
  return v;
}

static std::string hex(const uint8_t *p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; i++) {
    snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return n ? s : "-";
}

int main() {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    char out[64];
    if (cmd == "crc16" || cmd == "crc32") {
      std::string h;
      in >> h;
      std::vector<uint8_t> d = unhex(h);
      if (cmd == "crc16") {
        uint16_t c = 0xFFFF;
        // the frame CRC takes at most 255 bytes at a time: feed longer inputs in pieces
        for (size_t i = 0; i < d.size(); i += 200) c = sb_crc16(c, d.data() + i, (uint8_t)std::min<size_t>(200, d.size() - i));
        snprintf(out, sizeof out, "%04x", c);
      } else {
        snprintf(out, sizeof out, "%08x", sb_crc32(d.data(), (uint16_t)d.size()));
      }
      std::cout << out << "\n";
    } else if (cmd == "frame") {
      unsigned type, seq;
      std::string h;
      in >> std::hex >> type >> seq >> h;
      std::vector<uint8_t> d = unhex(h), f(d.size() + SB_FRAME_OVERHEAD);
      memcpy(f.data() + SB_FRAME_HEADER, d.data(), d.size());
      uint8_t n = sb_frame_seal(f.data(), (uint8_t)type, (uint8_t)seq, (uint8_t)d.size());
      std::cout << hex(f.data(), n) << "\n";
    } else if (cmd == "decode") {
      std::string h;
      in >> h;
      sb_decoder dec;
      dec.n = 0;
      std::string res;
      for (size_t i = 0; i < h.size();) {
        uint8_t got;
        if (h[i] == '.') {
          got = sb_dec_idle(&dec);
          i++;
        } else {
          got = sb_dec_push(&dec, (uint8_t)std::stoul(h.substr(i, 2), nullptr, 16));
          i += 2;
        }
        if (!got) continue;
        do {
          snprintf(out, sizeof out, "%x %x ", dec.buf[2], dec.buf[3]);
          res += (res.empty() ? "" : ";") + std::string(out) + hex(dec.buf + SB_FRAME_HEADER, dec.buf[1]);
        } while (sb_dec_next(&dec));
      }
      std::cout << (res.empty() ? "none" : res) << "\n";
    } else if (cmd == "header") {
      std::string h;
      in >> h;
      std::vector<uint8_t> d = unhex(h);
      sb_image_header hd;
      memcpy(&hd, d.data(), sizeof hd);
      std::cout << (sb_header_check(&hd) == SB_ST_OK ? "valid" : "bad") << "\n";
    } else if (cmd == "plan") {
      unsigned long size;
      unsigned page, slots;
      in >> size >> page >> slots;
      sb_superblock sb;
      if (!sb_plan(size, (uint16_t)page, (uint8_t)slots, &sb)) {
        std::cout << "refused\n";
        continue;
      }
      std::cout << sb.recPitch << " " << sb.dataStart << " " << sb.slotSize << " "
                << hex((const uint8_t *)&sb, sizeof sb) << "\n";
    } else if (cmd == "pick") {
      std::string kind, a, b;
      in >> kind >> a >> b;
      uint8_t size = kind == "boot" ? SB_BOOT_RECORD_SIZE : SB_SLOT_RECORD_SIZE;
      std::vector<uint8_t> ra = unhex(a), rb = unhex(b);
      uint16_t sa, sbq, next;
      memcpy(&sa, ra.data(), 2);
      memcpy(&sbq, rb.data(), 2);
      uint8_t w = sb_pick(sb_rec_valid(ra.data(), size, 4), sa, sb_rec_valid(rb.data(), size, 4), sbq, &next);
      std::cout << (w == 0 ? "A" : w == 1 ? "B" : "none") << " " << next << " " << (w == 0 ? "B" : "A") << "\n";
    } else if (cmd == "ack") {
      unsigned cum, sel, chunk;
      in >> cum >> sel >> chunk;
      uint16_t c = (uint16_t)cum, s = (uint16_t)sel;
      uint8_t k = sb_ack_classify(c, s, (uint16_t)chunk);
      if (k == SB_ACK_NEW) sb_ack_mark(&c, &s, (uint16_t)chunk);
      std::cout << (k == SB_ACK_NEW ? "new" : k == SB_ACK_DUP ? "dup" : "beyond") << " " << c << " " << s << "\n";
    } else {
      std::cout << "unknown command\n";
    }
    std::cout.flush();
  }
  return 0;
}
