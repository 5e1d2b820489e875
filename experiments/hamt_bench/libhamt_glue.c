/* experiments/hamt_bench/libhamt_glue.c: libhamt_glue.h over libhamt, compiled once per build of
 * libhamt: plain (lh_plain_*) and with -DWITH_TABLE_CACHE (lh_cache_*), by tools/side_by_side.sh.
 *
 * Each function is one libhamt call (set, get and size compile to a load and a tail call), the
 * same in both builds, so the glue costs both alike. libhamt is used as its own tests use it: the
 * default (malloc) allocator; the cache build backs its table cache with that allocator too. */
#include "experiments/hamt_bench/libhamt_glue.h"

#include <stdlib.h>

#include "hamt.h"
#if defined(WITH_TABLE_CACHE)
#include "cache.h"
#define LH(name) lh_cache_##name
/* The default cache configuration: defined in src/cache.c, declared in no header (libhamt's tests
 * #include cache.c itself). cache.h's hamt_table_cache_config_default is never defined. */
extern ptrdiff_t hamt_table_cache_config_default_bucket_count;
extern ptrdiff_t hamt_table_cache_default_bucket_sizes[32];
#else
#define LH(name) lh_plain_##name
#endif

struct lh_map {
  struct hamt *trie;
#if defined(WITH_TABLE_CACHE)
  struct hamt_table_cache *cache;
#endif
};

struct lh_map *LH(new)(lh_hash_fn hash, lh_cmp_fn cmp) {
  struct lh_map *map = malloc(sizeof *map);
  if (map == NULL) abort();
  struct hamt_config config = {
      .ator = &hamt_allocator_default, .key_cmp_fn = cmp, .key_hash_fn = hash};
#if defined(WITH_TABLE_CACHE)
  struct hamt_table_cache_config cache_config = {
      .bucket_count = hamt_table_cache_config_default_bucket_count,
      .initial_bucket_sizes = hamt_table_cache_default_bucket_sizes,
      .backing_allocator = &hamt_allocator_default};
  map->cache = hamt_table_cache_create(&cache_config);
  if (map->cache == NULL) abort();
  config.cache = map->cache;
#endif
  map->trie = hamt_create(&config);
  return map;
}

void LH(delete)(struct lh_map *map) {
  hamt_delete(map->trie); /* the tables go back to the cache, if any */
#if defined(WITH_TABLE_CACHE)
  /* hamt_table_cache_delete frees the pools but not the cache itself, which the default
   * allocator took from malloc; libhamt's tests free it the same way. */
  hamt_table_cache_delete(map->cache);
  free(map->cache);
#endif
  free(map);
}

/* libhamt's API takes non-const key and value pointers but never writes through them. */
void LH(set)(struct lh_map *map, const void *key, const void *value) {
  hamt_set(map->trie, (void *)key, (void *)value);
}

void LH(pset)(struct lh_map *map, const void *key, const void *value) {
  map->trie = (struct hamt *)hamt_pset(map->trie, (void *)key, (void *)value);
}

const void *LH(get)(const struct lh_map *map, const void *key) {
  return hamt_get(map->trie, (void *)key);
}

size_t LH(size)(const struct lh_map *map) { return hamt_size(map->trie); }
