// Host-side driver for the C protocol core of sketch-lib (sb_core.h), compiled with g++.
// Reads one command per line on stdin and prints one answer line, so vectors.test.ts can feed
// it protocol/vectors/ and random cases and compare with the TypeScript implementation.
//
//   crc16 HEX | crc32 HEX                 -> hex CRC
//   frame TYPE SEQ HEX                    -> the encoded frame, hex
//   decode HEX                            -> "type seq payload" of each frame found, ';'-separated
//                                            ('.' in HEX: the line goes idle there)
//   header HEX                            -> valid | bad
//   pick KIND A-HEX B-HEX                 -> winner(A|B|none) nextSeq writeTo(A|B)
//   ack CUM SEL CHUNK                     -> new|dup|beyond, then cum sel after marking a new chunk
// HEX "-" is empty.
#include "sb_core.h" // static functions and their state: this file is their one translation unit
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
      if (d.size() > 255) {
        std::cout << "too long\n"; // the node never checks more than 255 bytes at a time
        continue;
      }
      if (cmd == "crc16") {
        snprintf(out, sizeof out, "%04x", sb_crc16(d.data(), (uint8_t)d.size()));
      } else {
        d.resize(d.size() + 4);
        sb_crc_ok(d.data(), (uint8_t)(d.size() - 4), 1);
        snprintf(out, sizeof out, "%08x", sb_rd32(d.data() + d.size() - 4));
      }
      std::cout << out << "\n";
    } else if (cmd == "frame") {
      unsigned type, seq;
      std::string h;
      in >> std::hex >> type >> seq >> h;
      std::vector<uint8_t> d = unhex(h), f(d.size() + SB_FRAME_OVERHEAD);
      memcpy(f.data() + SB_FRAME_HEADER, d.data(), d.size());
      uint8_t n = sb_seal(f.data(), (uint8_t)type, (uint8_t)seq, (uint8_t)d.size());
      std::cout << hex(f.data(), n) << "\n";
    } else if (cmd == "decode") {
      std::string h;
      in >> h;
      sb_fn = 0;
      std::string res;
      for (size_t i = 0; i < h.size();) {
        uint8_t got;
        if (h[i] == '.') {
          got = sb_idle();
          i++;
        } else {
          got = sb_push((uint8_t)std::stoul(h.substr(i, 2), nullptr, 16));
          i += 2;
        }
        if (!got) continue;
        do {
          snprintf(out, sizeof out, "%x %x ", sb_f[2], sb_f[3]);
          res += (res.empty() ? "" : ";") + std::string(out) + hex(sb_f + SB_FRAME_HEADER, sb_f[1]);
        } while (sb_next());
      }
      std::cout << (res.empty() ? "none" : res) << "\n";
    } else if (cmd == "header") {
      std::string h;
      in >> h;
      std::vector<uint8_t> d = unhex(h);
      d.resize(SB_IMAGE_HEADER_SIZE);
      std::cout << (sb_header_ok(d.data()) ? "valid" : "bad") << "\n";
    } else if (cmd == "pick") {
      std::string kind, a, b;
      in >> kind >> a >> b;
      uint8_t size = kind == "boot" ? SB_BOOT_RECORD_SIZE : SB_SLOT_RECORD_SIZE;
      std::vector<uint8_t> ra = unhex(a), rb = unhex(b);
      // as the node reads them: copy B, then copy A
      sb_pick_start();
      sb_pick(1, rb.data(), size);
      sb_pick(0, ra.data(), size);
      uint8_t w = sb_newest;
      std::cout << (w == 0 ? "A" : w == 1 ? "B" : "none") << " " << sb_rseq << " " << (w == 0 ? "B" : "A") << "\n";
    } else if (cmd == "ack") {
      unsigned cum, sel, chunk;
      in >> cum >> sel >> chunk;
      sb_S.cum = (uint16_t)cum;
      sb_S.sel = (uint16_t)sel;
      uint8_t k = sb_ack_class((uint16_t)chunk);
      if (k == SB_ACK_NEW) sb_ack_mark((uint16_t)chunk);
      std::cout << (k == SB_ACK_NEW ? "new" : k == SB_ACK_DUP ? "dup" : "beyond") << " " << sb_S.cum << " " << sb_S.sel << "\n";
    } else {
      std::cout << "unknown command\n";
    }
    std::cout.flush();
  }
  return 0;
}
