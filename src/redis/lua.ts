/**
 * Lua scripts, kept as `.lua` files beside the module that runs them, so they read (and diff) as
 * Lua rather than as text inside TypeScript. A module names its scripts once, when it loads:
 *
 *   const SCRIPTS = { gate: new LuaScript<[key: string, now: number], [string, number]>('iwBreakerGate', 1, new URL('./lua/gate.lua', import.meta.url)) };
 *
 * and takes them as functions of its connection with `luaOn(redis, SCRIPTS)`: each script is
 * defined there once (ioredis `defineCommand`; a second store or relay on the same connection finds
 * it), and every call is an EVALSHA (ioredis falls back to EVAL when Redis has lost its script
 * cache), never the script text.
 *
 * Each file starts with a comment block saying what it takes (KEYS, ARGV) and returns. A line
 * `-- include: <file>.lua` stands for that file's text, for a fragment two scripts share.
 *
 * The compiled build finds the files too: `npm run build` copies them next to the compiled modules
 * (package.json `build`), so `new URL('./lua/x.lua', import.meta.url)` resolves the same under dist/.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** A script file's text, with its `-- include:` lines replaced by the files they name (relative to it). */
function readLua(file: URL): string {
  return readFileSync(file, 'utf8').replace(/^-- include: (\S+\.lua)[ \t]*$/gm, (_line, name: string) => readLua(new URL(name, file)).trimEnd());
}

/**
 * One script: its command name (unique per connection), how many of its arguments are keys (they
 * come first), and its text, read from `file` now. `Args` and `Result` type its calls.
 */
export class LuaScript<Args extends ReadonlyArray<string | number>, Result> {
  readonly lua: string;

  constructor(
    readonly name: string,
    readonly numberOfKeys: number,
    file: URL,
  ) {
    this.lua = readLua(file);
  }

  /** The script as a function on `redis`: defined on that connection the first time, then each call is one EVALSHA. */
  on(redis: Redis | Cluster): (...args: Args) => Promise<Result> {
    if (!(this.name in redis)) redis.defineCommand(this.name, { numberOfKeys: this.numberOfKeys, lua: this.lua });
    const command = (redis as unknown as Record<string, (...args: Args) => Promise<Result>>)[this.name] as (...args: Args) => Promise<Result>;
    return command.bind(redis);
  }
}

/** `luaOn`'s answer: each script of `S` as a typed function, under the same name. */
export type LuaOn<S> = { [K in keyof S]: S[K] extends LuaScript<infer A, infer R> ? (...args: A) => Promise<R> : never };

/** Each of `scripts` as a function on `redis` (`LuaScript.on`), under the same names. */
export function luaOn<S extends Record<string, LuaScript<never, unknown>>>(redis: Redis | Cluster, scripts: S): LuaOn<S> {
  return Object.fromEntries(Object.entries(scripts).map(([name, script]) => [name, script.on(redis)])) as LuaOn<S>;
}
