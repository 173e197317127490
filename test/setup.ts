// Loaded by mocha before any test file (.mocharc.js): the programs the toolchain built (kubectl, etcd, kube-apiserver,
// pulumi, ...) come first on PATH, so every test runs the pinned versions. When the toolchain is missing, the tests
// that need it fail with the message of scripts/toolchain.sh --dir ("run npm run toolchain"), never skip.
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const r = spawnSync("bash", [join(__dirname, "..", "scripts", "toolchain.sh"), "--dir"], { encoding: "utf8" });
if (r.status === 0) process.env.PATH = `${r.stdout.trim()}:${process.env.PATH}`;
