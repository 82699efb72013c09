#ifndef BATOU_GRAPH_CODEC_H
#define BATOU_GRAPH_CODEC_H

/* A configured graph as bytes, and back (the graph cache:
 * engine/model/model_cache.c). The encoding, version 1, is documented at
 * the top of graph_codec.c. Node hashes are not part of it: hash_graph
 * computes them after loading, as after configuring. */

#include <stddef.h>

struct buf;
struct graph;

/* Append g's encoding to out. -1 (out unchanged) when g holds a sensitive
 * node: its content may quote a secret, and secrets never reach disk. */
int graph_encode(const struct graph *g, struct buf *out);
/* Rebuild g (fresh from graph_init, named as encoded) from data[0..len).
 * 0, or -1 when the bytes are not a whole version 1 encoding (an unknown
 * rule kind included); g then holds whatever was read (release it). */
int graph_decode(struct graph *g, const unsigned char *data, size_t len);

#endif
