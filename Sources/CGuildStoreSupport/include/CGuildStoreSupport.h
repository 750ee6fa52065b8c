#ifndef CGUILDSTORESUPPORT_H
#define CGUILDSTORESUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// CRC32C (Castagnoli) of `length` bytes, continuing from `crc` (pass 0 to start).
/// Uses the SSE4.2 crc32 instruction when the CPU has it, a slicing-by-8 table otherwise;
/// both give the same value.
uint32_t gs_crc32c(uint32_t crc, const void *data, size_t length);

/// A 64-bit hash of `length` bytes (four multiply-rotate lanes over 8-byte words, then a final
/// avalanche): backups compare pages by it to find what changed since a parent backup. Not
/// cryptographic; equal inputs always give equal values, on every machine (little-endian).
uint64_t gs_hash64(const void *data, size_t length);

/// XXH32 (the checksum of the LZ4 frame format), streaming: reset with a seed, update with
/// the bytes in order in any pieces, digest at any point. The same bytes give the same value
/// however they were split.
typedef struct {
    uint64_t total;
    uint32_t lanes[4];
    unsigned char buffer[16];
    uint32_t buffered;
} gs_xxh32_state;

void gs_xxh32_reset(gs_xxh32_state *state, uint32_t seed);
void gs_xxh32_update(gs_xxh32_state *state, const void *data, size_t length);
uint32_t gs_xxh32_digest(const gs_xxh32_state *state);
/// XXH32 of `length` bytes in one call.
uint32_t gs_xxh32(const void *data, size_t length, uint32_t seed);

/// 1 when gs_crc32c runs on the hardware instruction.
int gs_crc32c_is_hardware(void);

/// Relaxed atomic bit operations on an array of 64-bit words. The engine keeps one bit per
/// page ("verified since last written") that readers on many threads test and set.
int gs_bit_test(const uint64_t *words, uint64_t bit);
void gs_bit_set(uint64_t *words, uint64_t bit);
void gs_bit_clear(uint64_t *words, uint64_t bit);

/// An open-file-description lock (Linux `F_OFD_SETLK`) on one byte at `offset` of the file
/// open at `fd`: `kind` 1 shared, 2 exclusive, 0 releases it. Never waits. Returns 0 when
/// taken (or released), 1 when another open file description holds a conflicting lock, -1
/// with errno set on any other failure. The kernel releases the lock when the last
/// descriptor of the description closes, so a process that dies holds nothing.
int gs_ofd_lock_byte(int fd, int kind, int64_t offset);

/// `gs_ofd_lock_byte` on `length` bytes from `offset`: shared, exclusive or released as one
/// range. Never waits; the same returns.
int gs_ofd_lock_range(int fd, int kind, int64_t offset, int64_t length);

/// Asks the kernel (`F_OFD_GETLK`) whether another open file description holds a lock on any
/// byte of `length` bytes from `offset` that an exclusive lock there would conflict with.
/// Returns 1 with `*start` set to the first byte of one such lock (any one of them), 0 when
/// there is none, -1 with errno set on failure. Locks of `fd`'s own description never count.
int gs_ofd_find_lock(int fd, int64_t offset, int64_t length, int64_t *start);

/// Opens `path` for writing a new file whose writes skip the page cache (Linux `O_DIRECT`):
/// created with `mode` if missing, emptied if present, read-write, close-on-exec. Where the
/// file system refuses `O_DIRECT` (tmpfs before Linux 6.6, some others) the file opens without
/// it. Returns the descriptor, or -1 with errno set.
int gs_open_uncached(const char *path, int mode);

/// The `O_DIRECT` flag's value on this system (0 where there is none), for tests that read a
/// descriptor's flags.
int gs_uncached_flag(void);

/// Clears `O_DIRECT` on `fd`, so that its writes go through the page cache again (a write the
/// file system refused for its alignment can then be retried). Returns 1 when the flag was
/// set and is now clear, 0 when it was not set, -1 with errno set on failure.
int gs_clear_uncached(int fd);

/// Starts writing every dirty page of the file open at `fd` to the disk and returns without
/// waiting (Linux `sync_file_range` with `SYNC_FILE_RANGE_WRITE`; nothing elsewhere). A hint
/// only: it makes nothing durable, fdatasync still does. Returns 0, or -1 with errno set.
int gs_start_writeback(int fd);

/// Gives the calling thread the lowest CPU priority for the rest of its life: Linux's
/// SCHED_IDLE policy (a waking thread of normal priority takes the CPU from it at once; it
/// runs whenever a core is free and keeps a small share when none is), or nice 19 where that
/// policy is refused. The threads it starts afterwards inherit it. Returns 0, or -1 with
/// errno set when neither could be set.
int gs_lower_thread_priority(void);

/// Asks the CPU to start loading `length` bytes at `address` into its caches (a hint: it
/// never faults and changes nothing). Inline, so a Swift caller pays no call.
static inline void gs_prefetch(const void *address, size_t length) {
    for (size_t offset = 0; offset < length; offset += 64) {
        __builtin_prefetch((const char *)address + offset);
    }
}

#endif
