// What the command-line tools share: flags parsed by Node's util.parseArgs in strict mode (an unknown flag or a stray
// argument is an error, never ignored), `--help` generated from the same table that parses, one-line errors (exit 2
// for usage, 1 for failures), and paths resolved against the directory the user ran `npm run` from.
import { accessSync, constants, existsSync, readFileSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { STACKS_DIR } from "../offline/stackFile";

export interface FlagSpec {
  readonly type: "string" | "boolean";
  /** One line for --help. */
  readonly help: string;
  /** Placeholder for the value in --help (string flags). */
  readonly value?: string;
  readonly multiple?: boolean;
  readonly short?: string;
  readonly default?: string | boolean;
}

export interface Cli<F extends Record<string, FlagSpec>> {
  readonly values: {
    [K in keyof F]: F[K]["multiple"] extends true ? string[] : F[K]["type"] extends "boolean" ? boolean : string | undefined;
  };
  /** Prints `message` and a pointer to --help, exits 2. */
  usage(message: string): never;
  /** A path the user typed, resolved against the directory `npm run` was started from. */
  path(p: string): string;
  /** Runs the tool's main as {@link runMain} does, its errors prefixed `kube-pki <name>:`. */
  run(main: () => Promise<void>, onError?: (e: unknown) => string | undefined): void;
}

/**
 * `npm run` starts scripts in the package directory and keeps the user's directory in INIT_CWD: relative paths the
 * user gives are meant from there.
 */
export const userDirectory = () => process.env.INIT_CWD ?? process.cwd();

/** --stack and --config, as the tools that read a stack file take them; the help says what each means for the tool. */
export const stackFlags = (config: string, stack = "a stack of stacks/ (stacks/Pulumi.<stack>.yaml)") =>
  ({ stack: { type: "string", value: "stack", help: stack }, config: { type: "string", value: "file", help: config } }) as const;

/** The stack file the user means: the one --config names, else stacks/Pulumi.<--stack>.yaml. */
export const stackFile = (values: { stack?: string; config?: string }, path: (p: string) => string) =>
  values.config ? path(values.config) : join(STACKS_DIR, `Pulumi.${values.stack}.yaml`);

/** The command line of the tool `npm run <name>`, parsed against `flags`. */
export function cli<F extends Record<string, FlagSpec>>(
  name: string,
  summary: string,
  flags: F,
  argv: readonly string[] = process.argv.slice(2),
): Cli<F> {
  const command = `npm run ${name} --`;
  const all = { ...flags, help: { type: "boolean", short: "h", help: "print this help and exit" } } as Record<string, FlagSpec>;
  const usage = (message: string): never => {
    console.error(`${command}: ${message} (${command} --help lists the flags)`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.entries(all).map(([name, f]) => [
          name,
          {
            type: f.type,
            ...(f.short ? { short: f.short } : {}),
            ...(f.multiple ? { multiple: true } : {}),
            ...(f.default !== undefined ? { default: f.default } : {}),
          },
        ]),
      ) as any,
    });
  } catch (e) {
    // Node's messages name the flag: "Unknown option '--stak'", "Unexpected argument 'x'", "Option '--out <value>' argument missing".
    return usage(
      String((e as Error).message)
        .replace(/\. To specify .*$/s, "")
        .replace(/\.$/, ""),
    );
  }
  if (parsed.values.help) {
    const rows = Object.entries(all).map(([name, f]) => [
      `${f.short ? `-${f.short}, ` : "    "}--${name}${f.type === "string" ? ` <${f.value ?? "value"}>` : ""}`,
      `${f.help}${f.multiple ? " (repeatable)" : ""}${f.default !== undefined && f.type === "string" ? ` (default ${f.default})` : ""}`,
    ]);
    const width = Math.max(...rows.map(([l]) => l!.length));
    console.log(`usage: ${command} [flags]\n${summary}\n\nflags:\n${rows.map(([l, r]) => `  ${l!.padEnd(width)}  ${r}`).join("\n")}`);
    process.exit(0);
  }
  const values = Object.fromEntries(
    Object.entries(flags).map(([name, f]) => [name, parsed.values[name] ?? (f.multiple ? [] : f.type === "boolean" ? false : undefined)]),
  ) as Cli<F>["values"];
  return { values, usage, path: (p) => resolve(userDirectory(), p), run: (main, onError) => runMain(`kube-pki ${name}`, main, onError) };
}

/** Runs an async main: a thrown error is one line on stderr (its message) and exit 1. */
export function runMain(command: string, main: () => Promise<void>, onError?: (e: unknown) => string | undefined): void {
  main().catch((e) => {
    console.error(onError?.(e) ?? `${command}: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}

/** Whether `program` is an executable file in one of PATH's directories (as the shell would find it). */
export const onPath = (program: string) =>
  (process.env.PATH ?? "")
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      try {
        accessSync(join(dir, program), constants.X_OK);
        return statSync(join(dir, program)).isFile();
      } catch {
        return false;
      }
    });

/**
 * A file argument's text, `-` for standard input. Not readFileSync(0) for stdin: on a non-blocking pipe (what spawnSync
 * and many callers hand over) a synchronous read fails with EAGAIN as soon as the pipe is empty while its writer is
 * still writing; a stream waits for the writer.
 */
export async function readInput(file: string, path: (p: string) => string): Promise<string> {
  if (file !== "-") {
    if (!existsSync(path(file))) throw new Error(`${path(file)}: no such file`);
    return readFileSync(path(file), "utf8");
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
