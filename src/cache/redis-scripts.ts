import { createHash } from 'node:crypto';

/** A Lua script and its SHA-1, for `EVALSHA` with an `EVAL` fallback. */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * KEYS[1] = entry key. Returns `[value, pttl]`, or nil when absent. One round trip gives the
 * two-tier cache the remaining lifetime it promotes with, so a promoted copy never outlives
 * the shared one.
 */
export const READ_SCRIPT = script(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`);

/**
 * KEYS = by-hash key, by-id key, tombstone; ARGV = JSON, ttl in ms. Refuses (returns 0) while a
 * tombstone says this session was invalidated lately: a fill that read the store before a
 * revoke in another process cannot land after that revoke cleared the cache. Atomic, so a fill
 * either lands before the invalidation (which then deletes it) or is refused after it.
 */
export const FILL_SCRIPT = script(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * KEYS = by-hash key, by-id key, tombstone; ARGV = JSON. Replaces existing entries only (`XX`),
 * keeping their TTL (`KEEPTTL`, Redis ≥ 6): a touch never extends a lifetime nor resurrects an
 * invalidated entry.
 */
export const UPDATE_SCRIPT = script(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
local n = 0
if redis.call('SET', KEYS[1], ARGV[1], 'XX', 'KEEPTTL') then n = n + 1 end
if redis.call('SET', KEYS[2], ARGV[1], 'XX', 'KEEPTTL') then n = n + 1 end
return n
`);

/**
 * KEYS = (by-hash key, by-id key, tombstone) per session; ARGV = tombstone ttl in ms, channel,
 * message. Deletes the entries, writes the tombstones, then publishes, all atomically: every
 * subscriber hears of the invalidation only once the shared entries are gone.
 */
export const INVALIDATE_SCRIPT = script(`
for i = 1, #KEYS, 3 do
  redis.call('DEL', KEYS[i], KEYS[i + 1])
  redis.call('SET', KEYS[i + 2], '1', 'PX', ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return #KEYS / 3
`);

// Redis Cluster: a script may touch keys of one hash slot only, and a session's two entries
// cannot share one (JWT requests look it up by id, opaque tokens by hash, each without knowing
// the other). Each side — `{hash}` entry and tombstone, `{id}` entry and tombstone — has its own
// scripts, run one per side (see src/cache/README.md, "Redis Cluster").

/**
 * KEYS = entry, its side's tombstone; ARGV = JSON, ttl in ms. One side of FILL_SCRIPT: refused
 * (0) while that side's tombstone exists.
 */
export const FILL_SIDE_SCRIPT = script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/**
 * KEYS = entry, its side's tombstone; ARGV = JSON. One side of UPDATE_SCRIPT. The entry's fill
 * time (`{"filledAt":N,` at its start) is kept: a touch says nothing about whether the entry
 * missed an invalidation.
 */
export const UPDATE_SIDE_SCRIPT = script(`
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local old = redis.call('GET', KEYS[1])
if not old then return 0 end
local filled = string.match(old, '^{"filledAt":(%d+),')
local new = ARGV[1]
if filled then new = '{"filledAt":' .. filled .. ',' .. string.sub(ARGV[1], 2) end
redis.call('SET', KEYS[1], new, 'XX', 'KEEPTTL')
return 1
`);

/**
 * KEYS = entry, its side's tombstone; ARGV = tombstone ttl in ms. Deletes the entry and writes
 * the tombstone; returns how many replicas the node has, so that the caller waits (`WAIT`) for
 * one of them to have the deletion before saying it is done: a master that fails right after
 * would otherwise hand its slots to a replica that still holds the revoked entry.
 */
export const INVALIDATE_SIDE_SCRIPT = script(`
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
local replicas = string.match(redis.call('INFO', 'replication'), 'connected_slaves:(%d+)')
return tonumber(replicas) or 0
`);

/**
 * KEYS[1] = a key, only to send the script to a node that just answered; ARGV = channel,
 * message. A cluster passes a PUBLISH to the subscribers of every node.
 */
export const PUBLISH_SCRIPT = script(`
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`);
