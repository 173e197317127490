// A throwaway PostgreSQL server (Debian's postgresql package) for the shared-backend tests: initdb and postgres run
// as `nobody` (PostgreSQL refuses to run as root), listening on 127.0.0.1 only, TLS only (pg_hba `hostssl`, a
// self-signed P-256 server certificate for 127.0.0.1 made by openssl); clients connect with sslmode=verify-full
// against that certificate. Passwords are random per run and travel in PGPASSWORD, never on a command line. The data
// directory, the server key and the certificate live in a temp dir the e2e helpers remove at exit and on
// SIGINT/SIGTERM; the server is killed with its process group then too (test/e2e/proc.ts).
//
// The roles and grants are README's ("CI/CD", PostgreSQL), read from it: the stack's deploy role owns its table (the
// CLI runs CREATE TABLE IF NOT EXISTS and CREATE INDEX IF NOT EXISTS at every start: the first needs CREATE on the
// schema, the second ownership of the table, even when both exist); its preview role reads the table only, through a
// materialized view it owns in a schema of its own (the same statements find a relation it owns and may index, and
// PostgreSQL refuses every write).
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import {
  describe as describeRun,
  makeTempDir,
  removeTempDir,
  run,
  RunResult,
  startDaemon,
  stopDaemon,
  waitForPort,
  Daemon,
} from "./e2e/proc";

export type PgRole = "deploy" | "preview";

/**
 * The grants README "CI/CD" gives for one stack's state, as it gives them (its ```sql block, `<stack>` replaced),
 * without its `\password` lines: the test sets the passwords.
 */
export function readmeGrants(stack: string): string {
  const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
  const block = [...readme.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes("kube_pki_<stack>"));
  if (!block) throw new Error("README.md has no ```sql block with the kube_pki_<stack> grants");
  return block
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("\\password"))
    .join("\n")
    .replaceAll("<stack>", stack);
}

/** The newest Debian PostgreSQL server's bin directory (or the one on PATH), with initdb and postgres. */
function serverBin(): string {
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian) ? readdirSync(debian).filter((v) => existsSync(join(debian, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions[0]) return join(debian, versions[0], "bin");
  for (const dir of (process.env.PATH ?? "").split(":")) if (dir && existsSync(join(dir, "initdb"))) return dir;
  throw new Error("PostgreSQL's server is not installed: apt-get install postgresql (see .ci/run)");
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const AS_NOBODY = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"];

export class PostgresServer {
  private constructor(
    private readonly dir: string,
    private readonly daemon: Daemon,
    readonly port: number,
    private readonly passwords: Record<PgRole | "admin", string>,
    readonly stack: string,
  ) {}

  static readonly DATABASE = "pulumi";

  /** initdb, start, and README's grants for `stack`'s state. */
  static async start(stack: string): Promise<PostgresServer> {
    const bin = serverBin();
    const dir = makeTempDir("postgres");
    chmodSync(dir, 0o711); // nobody must reach data/ and tls/ inside
    const owned = (p: string, mode: number) => {
      mkdirSync(p, { mode });
      chownSync(p, 65534, 65534);
      return p;
    };
    const data = owned(join(dir, "data"), 0o700);
    const tls = owned(join(dir, "tls"), 0o700);
    const key = join(tls, "server.key");
    const cert = join(tls, "server.crt");
    const ssl = await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      key,
      "-out",
      cert,
    ]);
    if (ssl.code !== 0) throw new Error(describeRun(ssl));
    chmodSync(key, 0o600);
    chownSync(key, 65534, 65534);
    chownSync(cert, 65534, 65534);
    const pw = () => randomBytes(18).toString("base64url");
    const passwords = { admin: pw(), deploy: pw(), preview: pw() };
    const pwfile = join(tls, "admin.pw");
    writeFileSync(pwfile, `${passwords.admin}\n`, { mode: 0o600 });
    chownSync(pwfile, 65534, 65534);
    const init = await run(
      "setpriv",
      [
        ...AS_NOBODY,
        join(bin, "initdb"),
        "-D",
        data,
        "-U",
        "kube_pki_admin",
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "-E",
        "UTF8",
        "--no-instructions",
      ],
      { timeoutMs: 60_000 },
    );
    rmSync(pwfile);
    if (init.code !== 0) throw new Error(describeRun(init));
    // TLS or nothing: no `host` line, no Unix socket.
    writeFileSync(join(data, "pg_hba.conf"), "hostssl all all 127.0.0.1/32 scram-sha-256\n");
    const port = await freePort();
    const settings = {
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "", // TLS or nothing: no Unix socket
      ssl: "on",
      ssl_cert_file: cert,
      ssl_key_file: key,
      // A test server: durability is not what is under test.
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      // Dynamic shared memory in the data directory, not /dev/shm: a server killed outright leaves nothing there.
      dynamic_shared_memory_type: "mmap",
    };
    const daemon = startDaemon(
      "postgres",
      "setpriv",
      [
        ...AS_NOBODY,
        join(bin, "postgres"),
        "-D",
        data,
        "-p",
        String(port),
        ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
      ],
      join(dir, "postgres.log"),
      { maxLifetimeMs: 3_600_000 },
    );
    await waitForPort("127.0.0.1", port, 30_000, daemon);
    const server = new PostgresServer(dir, daemon, port, passwords, stack);
    for (let i = 0; ; i++) {
      const r = await server.psql("admin", "SELECT 1", "postgres");
      if (r.code === 0) break;
      if (i > 50) throw new Error(describeRun(r));
      await new Promise((res) => setTimeout(res, 100));
    }
    await server.ok("admin", `CREATE DATABASE ${PostgresServer.DATABASE}`, "postgres");
    await server.ok("admin", readmeGrants(stack));
    for (const role of ["deploy", "preview"] as const)
      await server.ok("admin", `ALTER ROLE ${server.user(role)} PASSWORD '${passwords[role]}'`);
    return server;
  }

  /** The CA certificate clients verify the server with. */
  get caFile(): string {
    return join(this.dir, "tls", "server.crt");
  }

  user(role: PgRole | "admin"): string {
    return role === "admin" ? "kube_pki_admin" : `kube_pki_${this.stack}_${role}`;
  }

  /** The backend URL the CLI gets for a role: TLS verified against the server's certificate, no password in it. */
  backendUrl(role: PgRole): string {
    return `postgres://${this.user(role)}@127.0.0.1:${this.port}/${PostgresServer.DATABASE}?sslmode=verify-full&sslrootcert=${this.caFile}`;
  }

  /** PULUMI_BACKEND_URL and PGPASSWORD for a role. */
  env(role: PgRole): NodeJS.ProcessEnv {
    return { PULUMI_BACKEND_URL: this.backendUrl(role), PGPASSWORD: this.passwords[role] };
  }

  /** psql as a role; the SQL on stdin (the grants hold passwords). */
  psql(role: PgRole | "admin", sql: string, database = PostgresServer.DATABASE): Promise<RunResult> {
    const conn = `host=127.0.0.1 port=${this.port} user=${this.user(role)} dbname=${database} sslmode=verify-full sslrootcert=${this.caFile}`;
    return run("psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", conn, "-f", "-"], {
      input: `${sql};\n`,
      env: { ...process.env, PGPASSWORD: this.passwords[role], PGCONNECT_TIMEOUT: "5" },
      timeoutMs: 30_000,
    });
  }

  /** psql that must succeed; its output. */
  async ok(role: PgRole | "admin", sql: string, database?: string): Promise<string> {
    const r = await this.psql(role, sql, database);
    if (r.code !== 0) throw new Error(describeRun(r));
    return r.stdout.trim();
  }

  async stop(): Promise<void> {
    await stopDaemon(this.daemon);
    removeTempDir(this.dir);
  }
}
