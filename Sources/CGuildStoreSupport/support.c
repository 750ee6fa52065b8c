#define _GNU_SOURCE
#include "CGuildStoreSupport.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

// ---- CRC32C --------------------------------------------------------------------------------

static uint32_t crc_table[8][256];
static int crc_mode = -1; // -1 unknown, 0 software, 1 hardware

static void crc_init_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : (c >> 1);
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = crc_table[0][n];
        for (int t = 1; t < 8; t++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[t][n] = c;
        }
    }
}

static uint32_t crc_software(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

// The crc32 instruction takes 3 cycles but can start one per cycle, so long buffers run as
// three independent lanes of CRC_LANE bytes each, joined afterwards. CRC is linear: the state
// after lanes A, B, C from state s is shift(shift(crc(s, A)) ^ crc(0, B)) ^ crc(0, C), where
// shift(x) is x carried over CRC_LANE zero bytes: a linear map, kept as four byte tables.
#define CRC_LANE 1360 // a multiple of 8; three lanes cover a 4 KiB page's checksummed bytes
static uint32_t crc_shift_table[4][256];

__attribute__((target("sse4.2")))
static uint32_t crc_over_zeros(uint32_t crc, size_t n) {
    uint64_t c = crc;
    for (; n >= 8; n -= 8) c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void crc_init_shift(void) {
    for (int k = 0; k < 4; k++)
        for (uint32_t v = 0; v < 256; v++) crc_shift_table[k][v] = crc_over_zeros(v << (8 * k), CRC_LANE);
}

static inline uint32_t crc_shift(uint32_t c) {
    return crc_shift_table[0][c & 0xff] ^ crc_shift_table[1][(c >> 8) & 0xff] ^
           crc_shift_table[2][(c >> 16) & 0xff] ^ crc_shift_table[3][c >> 24];
}

__attribute__((target("sse4.2")))
static uint32_t crc_hardware(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 3 * CRC_LANE) {
        uint64_t b = 0, d = 0;
        for (size_t i = 0; i < CRC_LANE; i += 8) {
            uint64_t w0, w1, w2;
            memcpy(&w0, p + i, 8);
            memcpy(&w1, p + CRC_LANE + i, 8);
            memcpy(&w2, p + 2 * CRC_LANE + i, 8);
            c = _mm_crc32_u64(c, w0);
            b = _mm_crc32_u64(b, w1);
            d = _mm_crc32_u64(d, w2);
        }
        c = crc_shift((uint32_t)c) ^ (uint32_t)b;
        c = crc_shift((uint32_t)c) ^ (uint32_t)d;
        p += 3 * CRC_LANE;
        n -= 3 * CRC_LANE;
    }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

static void crc_setup(void) {
    crc_init_table();
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc_mode = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (crc_mode == 1) crc_init_shift();
#else
    crc_mode = 0;
#endif
}

__attribute__((constructor)) static void gs_support_init(void) { crc_setup(); }

uint32_t gs_crc32c(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
#if defined(__x86_64__)
    if (crc_mode == 1) return ~crc_hardware(crc, p, length);
#endif
    return ~crc_software(crc, p, length);
}

int gs_crc32c_is_hardware(void) { return crc_mode == 1; }

// ---- atomic bitset ------------------------------------------------------------------------

int gs_bit_test(const uint64_t *words, uint64_t bit) {
    uint64_t w = __atomic_load_n(&words[bit >> 6], __ATOMIC_ACQUIRE);
    return (int)((w >> (bit & 63)) & 1);
}

void gs_bit_set(uint64_t *words, uint64_t bit) {
    __atomic_fetch_or(&words[bit >> 6], (uint64_t)1 << (bit & 63), __ATOMIC_RELEASE);
}

void gs_bit_clear(uint64_t *words, uint64_t bit) {
    __atomic_fetch_and(&words[bit >> 6], ~((uint64_t)1 << (bit & 63)), __ATOMIC_RELEASE);
}

// ---- 64-bit content hash ------------------------------------------------------------------

static inline uint64_t gs_rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t gs_load64(const unsigned char *p) {
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

static inline uint64_t gs_lane(uint64_t lane, uint64_t word) {
    return gs_rotl64(lane ^ (word * 0x9E3779B185EBCA87ULL), 29) * 0xC2B2AE3D27D4EB4FULL;
}

uint64_t gs_hash64(const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t a = 0x243F6A8885A308D3ULL ^ (uint64_t)length, b = 0x13198A2E03707344ULL;
    uint64_t c = 0xA4093822299F31D0ULL, d = 0x082EFA98EC4E6C89ULL;
    size_t i = 0;
    for (; i + 32 <= length; i += 32) {
        a = gs_lane(a, gs_load64(p + i));
        b = gs_lane(b, gs_load64(p + i + 8));
        c = gs_lane(c, gs_load64(p + i + 16));
        d = gs_lane(d, gs_load64(p + i + 24));
    }
    for (; i + 8 <= length; i += 8) a = gs_lane(a, gs_load64(p + i));
    uint64_t tail = 0;
    for (size_t shift = 0; i < length; i++, shift += 8) tail |= (uint64_t)p[i] << shift;
    b = gs_lane(b, tail);
    uint64_t h = gs_rotl64(a, 1) + gs_rotl64(b, 7) + gs_rotl64(c, 12) + gs_rotl64(d, 18);
    h ^= gs_lane(0, a); h ^= gs_lane(0, b); h ^= gs_lane(0, c); h ^= gs_lane(0, d);
    h ^= h >> 33; h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33; h *= 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 33;
    return h;
}

// ---- XXH32, the checksum of the LZ4 frame format ----------------------------------------------
// The frame format (lz4_Frame_format.md) checksums its descriptor, each block and the whole
// content with XXH32 (seed 0). Written here from the published algorithm, because liblz4 does
// not export its own copy.

#define GS_XXH_P1 0x9E3779B1U
#define GS_XXH_P2 0x85EBCA77U
#define GS_XXH_P3 0xC2B2AE3DU
#define GS_XXH_P4 0x27D4EB2FU
#define GS_XXH_P5 0x165667B1U

static inline uint32_t gs_rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static inline uint32_t gs_load32(const unsigned char *p) {
    uint32_t w;
    memcpy(&w, p, 4);
    return w;
}

static inline uint32_t gs_xxh_round(uint32_t acc, uint32_t input) {
    return gs_rotl32(acc + input * GS_XXH_P2, 13) * GS_XXH_P1;
}

void gs_xxh32_reset(gs_xxh32_state *state, uint32_t seed) {
    memset(state, 0, sizeof *state);
    state->lanes[0] = seed + GS_XXH_P1 + GS_XXH_P2;
    state->lanes[1] = seed + GS_XXH_P2;
    state->lanes[2] = seed;
    state->lanes[3] = seed - GS_XXH_P1;
}

static inline void gs_xxh_stripe(uint32_t lanes[4], const unsigned char *p) {
    lanes[0] = gs_xxh_round(lanes[0], gs_load32(p));
    lanes[1] = gs_xxh_round(lanes[1], gs_load32(p + 4));
    lanes[2] = gs_xxh_round(lanes[2], gs_load32(p + 8));
    lanes[3] = gs_xxh_round(lanes[3], gs_load32(p + 12));
}

void gs_xxh32_update(gs_xxh32_state *state, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data, *end = p + length;
    state->total += length;
    if (state->buffered + length < 16) {
        memcpy(state->buffer + state->buffered, p, length);
        state->buffered += (uint32_t)length;
        return;
    }
    if (state->buffered > 0) {
        size_t fill = 16 - state->buffered;
        memcpy(state->buffer + state->buffered, p, fill);
        gs_xxh_stripe(state->lanes, state->buffer);
        p += fill;
        state->buffered = 0;
    }
    uint32_t lanes[4] = { state->lanes[0], state->lanes[1], state->lanes[2], state->lanes[3] };
    for (; p + 16 <= end; p += 16) gs_xxh_stripe(lanes, p);
    memcpy(state->lanes, lanes, sizeof lanes);
    if (p < end) {
        memcpy(state->buffer, p, (size_t)(end - p));
        state->buffered = (uint32_t)(end - p);
    }
}

uint32_t gs_xxh32_digest(const gs_xxh32_state *state) {
    uint32_t h;
    if (state->total >= 16) {
        h = gs_rotl32(state->lanes[0], 1) + gs_rotl32(state->lanes[1], 7)
          + gs_rotl32(state->lanes[2], 12) + gs_rotl32(state->lanes[3], 18);
    } else {
        h = state->lanes[2] + GS_XXH_P5;  // lanes[2] is the seed until a stripe is taken
    }
    h += (uint32_t)state->total;
    const unsigned char *p = state->buffer, *end = state->buffer + state->buffered;
    for (; p + 4 <= end; p += 4) h = gs_rotl32(h + gs_load32(p) * GS_XXH_P3, 17) * GS_XXH_P4;
    for (; p < end; p++) h = gs_rotl32(h + (*p) * GS_XXH_P5, 11) * GS_XXH_P1;
    h ^= h >> 15; h *= GS_XXH_P2;
    h ^= h >> 13; h *= GS_XXH_P3;
    h ^= h >> 16;
    return h;
}

uint32_t gs_xxh32(const void *data, size_t length, uint32_t seed) {
    gs_xxh32_state state;
    gs_xxh32_reset(&state, seed);
    gs_xxh32_update(&state, data, length);
    return gs_xxh32_digest(&state);
}

// ---- Open-file-description locks -----------------------------------------------------------

int gs_ofd_lock_byte(int fd, int kind, int64_t offset) {
    return gs_ofd_lock_range(fd, kind, offset, 1);
}

int gs_ofd_lock_range(int fd, int kind, int64_t offset, int64_t length) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = kind == 2 ? F_WRLCK : kind == 1 ? F_RDLCK : F_UNLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = (off_t)length;
    int result;
    do { result = fcntl(fd, F_OFD_SETLK, &lock); } while (result != 0 && errno == EINTR);
    if (result == 0) return 0;
    return (errno == EAGAIN || errno == EACCES) ? 1 : -1;
}

int gs_ofd_find_lock(int fd, int64_t offset, int64_t length, int64_t *start) {
    struct flock lock;
    memset(&lock, 0, sizeof lock);
    lock.l_type = F_WRLCK;
    lock.l_whence = SEEK_SET;
    lock.l_start = (off_t)offset;
    lock.l_len = (off_t)length;
    int result;
    do { result = fcntl(fd, F_OFD_GETLK, &lock); } while (result != 0 && errno == EINTR);
    if (result != 0) return -1;
    if (lock.l_type == F_UNLCK) return 0;
    *start = (int64_t)lock.l_start;
    return 1;
}

// ---- Writes that skip the page cache -------------------------------------------------------

int gs_open_uncached(const char *path, int mode) {
    int flags = O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC;
    int fd;
#ifdef O_DIRECT
    do { fd = open(path, flags | O_DIRECT, mode); } while (fd < 0 && errno == EINTR);
    if (fd >= 0 || errno != EINVAL) return fd;
#endif
    do { fd = open(path, flags, mode); } while (fd < 0 && errno == EINTR);
    return fd;
}

int gs_uncached_flag(void) {
#ifdef O_DIRECT
    return O_DIRECT;
#else
    return 0;
#endif
}

int gs_clear_uncached(int fd) {
#ifdef O_DIRECT
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    if (!(flags & O_DIRECT)) return 0;
    if (fcntl(fd, F_SETFL, flags & ~O_DIRECT) != 0) return -1;
    return 1;
#else
    (void)fd;
    return 0;
#endif
}

int gs_start_writeback(int fd) {
#ifdef SYNC_FILE_RANGE_WRITE
    int result;
    do { result = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); } while (result != 0 && errno == EINTR);
    return result;
#else
    (void)fd;
    return 0;
#endif
}

// ---- Thread priority -----------------------------------------------------------------------

int gs_lower_thread_priority(void) {
    pid_t thread = (pid_t)syscall(SYS_gettid);
    struct sched_param param;
    memset(&param, 0, sizeof param);
    if (sched_setscheduler(thread, SCHED_IDLE, &param) == 0) return 0;
    return setpriority(PRIO_PROCESS, (id_t)thread, 19);
}
