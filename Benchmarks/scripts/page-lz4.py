#!/usr/bin/env python3
"""Bytes a GuildStore file would take if each page were LZ4-compressed on its own (the
best a page-at-a-time compressed layout could store, before any rounding to sectors).

Usage: python3 page-lz4.py PATH.gsdb ROWS [PAGE_SIZE]   (liblz4 from liblz4-dev / liblz4-1)
"""
import ctypes
import sys

lz4 = ctypes.CDLL("liblz4.so.1")
path, rows = sys.argv[1], int(sys.argv[2])
page_size = int(sys.argv[3]) if len(sys.argv) > 3 else 4096
data = open(path, "rb").read()
out = ctypes.create_string_buffer(2 * page_size)
fast = high = 0
for start in range(0, len(data) - page_size + 1, page_size):
    page = data[start:start + page_size]
    fast += lz4.LZ4_compress_default(page, out, page_size, len(out))
    high += lz4.LZ4_compress_HC(page, out, page_size, len(out), 9)
print(f"{len(data) / rows:.1f} bytes per row as stored, {fast / rows:.1f} with each page LZ4-compressed, "
      f"{high / rows:.1f} with LZ4 HC level 9")
