/**
 * The Lua scripts of the Redis adapter and how they are run: EVALSHA first (the script
 * body is sent once per server), EVAL when the server answers NOSCRIPT (after a restart
 * or SCRIPT FLUSH). Nothing is registered on the client, so a caller's client is untouched.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script with its SHA-1. */
export interface LuaScript {
  readonly body: string;
  readonly sha: string;
}

function script(body: string): LuaScript {
  return { body, sha: createHash('sha1').update(body).digest('hex') };
}

/**
 * KEYS[1] counter key; ARGV[1] delta (decimal int64), ARGV[2] expiry in ms or ''.
 * INCRBY and PEXPIRE in one round trip. The reply is the value read back with GET: a Lua
 * number would round values beyond 2^53, the stored string is exact.
 */
export const ADD_SCRIPT = script(`
redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
`);

/**
 * KEYS[1] namespace hash; ARGV[1] counter, ARGV[2] checkpoint (integer micros), ARGV[3]
 * count (decimal). Stores "checkpoint:count" as one field value unless the cached
 * checkpoint is later or equal. Micros fit a Lua double exactly (< 2^53).
 */
export const PUT_ROLLUP_SCRIPT = script(`
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local sep = string.find(current, ':', 1, true)
  if sep and tonumber(string.sub(current, 1, sep - 1)) >= tonumber(ARGV[2]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
return 1
`);

/** Runs a script by SHA, loading it with EVAL when the server does not know it. */
export async function runScript(client: Redis, lua: LuaScript, keys: string[], args: string[]): Promise<unknown> {
  try {
    return await client.evalsha(lua.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return await client.eval(lua.body, keys.length, ...keys, ...args);
  }
}
