/* The state cache's record codec: little-endian integers and u32-length
 * strings (the formats themselves are documented in state.c). Decoding never
 * reads past the value: any overrun marks the reader bad, and the caller
 * treats the record as missing. */
#include "engine/state/state_internal.h"

#include <string.h>

void state_put_u8(struct buf *b, unsigned v)
{
    buf_addc(b, (char)(unsigned char)v);
}

void state_put_u32(struct buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        state_put_u8(b, (v >> (8 * i)) & 0xff);
}

void state_put_u64(struct buf *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        state_put_u8(b, (unsigned)((v >> (8 * i)) & 0xff));
}

void state_put_str(struct buf *b, const char *s, size_t len)
{
    state_put_u32(b, (uint32_t)len);
    buf_add(b, s, len);
}

const unsigned char *state_get_bytes(struct state_reader *r, size_t n)
{
    if (r->bad || r->len - r->pos < n) {
        r->bad = 1;
        return NULL;
    }
    const unsigned char *p = r->p + r->pos;
    r->pos += n;
    return p;
}

unsigned state_get_u8(struct state_reader *r)
{
    const unsigned char *p = state_get_bytes(r, 1);
    return p ? p[0] : 0;
}

uint32_t state_get_u32(struct state_reader *r)
{
    const unsigned char *p = state_get_bytes(r, 4);
    uint32_t v = 0;
    for (int i = 3; p && i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint64_t state_get_u64(struct state_reader *r)
{
    const unsigned char *p = state_get_bytes(r, 8);
    uint64_t v = 0;
    for (int i = 7; p && i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

const char *state_get_str(struct state_reader *r, char **text)
{
    uint32_t len = state_get_u32(r);
    const unsigned char *p = state_get_bytes(r, len);
    if (!p || memchr(p, 0, len)) {
        r->bad = 1;
        return "";
    }
    char *s = *text;
    memcpy(s, p, len);
    s[len] = 0;
    *text += len + 1;
    return s;
}
