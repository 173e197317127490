// Flag parsing shared by the command-line scripts: `--flag value` (repeatable), usage errors exit 2.

export interface Flags {
  /** Every value given for a repeatable flag. */
  all(flag: string): string[];
  /** The first value of a flag, or undefined. */
  one(flag: string): string | undefined;
  /** Prints the message and the usage line, exits 2. */
  fail(message: string): never;
}

export function parseFlags(usage: string, argv: readonly string[] = process.argv.slice(2)): Flags {
  const fail = (message: string): never => {
    console.error(`${message}\nusage: ${usage}`);
    process.exit(2);
  };
  const all = (flag: string) => argv.flatMap((a, i) => (a === flag ? [argv[i + 1] ?? fail(`${flag} needs a value`)] : []));
  return { all, one: (flag) => all(flag)[0], fail };
}
