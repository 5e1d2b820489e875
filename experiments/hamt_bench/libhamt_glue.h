/* experiments/hamt_bench/libhamt_glue.h: the C interface through which side_by_side.cc calls
 * libhamt (github.com/mkirchner/hamt, not vendored), declared once for both builds of it.
 *
 * libhamt's `struct hamt_config` changes layout with -DWITH_TABLE_CACHE, so the plain build and
 * the table-cache build cannot share a header with the driver, nor a symbol namespace with each
 * other. tools/side_by_side.sh compiles libhamt_glue.c with libhamt's sources twice (with and
 * without the cache), links each into one relocatable object and keeps only the functions below
 * global: lh_plain_* and lh_cache_*. The driver sees nothing of libhamt but these.
 *
 * An lh_map is one trie plus what it needs besides itself (the cache build: its table cache).
 * Keys and values are pointers to storage the caller owns and keeps alive, as libhamt stores them;
 * libhamt never writes through them. */
#ifndef HAMT_ALLOC_EXPERIMENTS_HAMT_BENCH_LIBHAMT_GLUE_H_
#define HAMT_ALLOC_EXPERIMENTS_HAMT_BENCH_LIBHAMT_GLUE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct lh_map;

/* libhamt's key hash (a 32-bit hash for generation `gen`; libhamt asks for a new generation when
 * a lookup has used up 30 bits) and key comparison (0: equal). */
typedef uint32_t (*lh_hash_fn)(const void *key, size_t gen);
typedef int (*lh_cmp_fn)(const void *lhs, const void *rhs);

/* new:    an empty trie (and, for lh_cache_, a table cache with libhamt's default bucket sizes).
 * delete: frees the trie and its cache.
 * set:    hamt_set, in place.
 * pset:   hamt_pset; the map then holds the new version. The previous version is never freed
 *         (libhamt has no way to free one version of a persistent trie).
 * get:    hamt_get: the value pointer stored for `key`, or NULL.
 * size:   hamt_size. */
#define LH_GLUE_API(prefix)                                                     \
  struct lh_map *prefix##new(lh_hash_fn hash, lh_cmp_fn cmp);                   \
  void prefix##delete(struct lh_map *map);                                      \
  void prefix##set(struct lh_map *map, const void *key, const void *value);     \
  void prefix##pset(struct lh_map *map, const void *key, const void *value);    \
  const void *prefix##get(const struct lh_map *map, const void *key);           \
  size_t prefix##size(const struct lh_map *map);

LH_GLUE_API(lh_plain_)
LH_GLUE_API(lh_cache_)

#undef LH_GLUE_API

#ifdef __cplusplus
}
#endif

#endif /* HAMT_ALLOC_EXPERIMENTS_HAMT_BENCH_LIBHAMT_GLUE_H_ */
