/**
 * Runs `fn` with no stack traces recorded, restored once it returns (or once its promise settles). The Pulumi SDK
 * records `new Error().stack` for every promise and resource it makes, and ts-node source-maps each one: most of an
 * offline evaluation's time at a thousand nodes (docs/benchmarks-render.md) and of what 64 shard pushes add to a
 * preview (docs/benchmarks-bootstrap-engine.md). Errors keep their messages; a resource's own source position is taken
 * by the SDK with a limit of its own.
 */
export function withoutStackTraces<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  const restore = () => {
    Error.stackTraceLimit = limit;
  };
  Error.stackTraceLimit = 0;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}
