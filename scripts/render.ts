// npm run render -- (--stack <stack> | --config <file>) (--out <dir> [--force] | --check)
// Writes every node's files of every cluster of a stack, offline (see offline/render.ts and the README); with
// --check it only validates the config and writes nothing.
import { ConfigError, planClusters, readWorkersFile } from "../components";
import { RENDER_NOTICE, renderClusters } from "../offline/render";
import { PROJECT_DIR, readConfigFile, readStackConfig } from "../offline/stackFile";
import { cli, stackFlags } from "./cli";

const { values, usage, path, run } = cli(
  "render",
  "Renders every node's certificates, keys and kubeconfigs of a stack offline, or only checks its config.",
  {
    ...stackFlags("any stack file instead of --stack (Pulumi.<stack>.yaml format)"),
    out: {
      type: "string",
      value: "dir",
      help: "write <dir>/<cluster>/<node>/<absolute path> (an empty or missing directory, or an earlier render with --force)",
    },
    force: { type: "boolean", help: "replace a cluster directory that an earlier render wrote (never anything else)" },
    check: { type: "boolean", help: "validate the config only: print the clusters, write nothing, exit 1 on any problem" },
  },
);

run(
  async () => {
    if (!!values.stack === !!values.config) usage("give exactly one of --stack and --config");
    if (values.check && (values.out || values.force)) usage("--check writes nothing: drop --out and --force");
    if (!values.check && !values.out) usage("--out is required (or --check to validate only)");
    const source = values.stack ? `stack ${values.stack}` : path(values.config!);
    const config = values.stack ? readStackConfig(values.stack) : readConfigFile(path(values.config!));
    if (values.check) {
      const plans = planClusters(config.clusters, readWorkersFile(PROJECT_DIR));
      for (const { catalog } of plans) {
        const cp = catalog.cluster.nodes.filter((n) => n.role === "control-plane").length;
        console.log(
          `${catalog.cluster.name}: valid; ${cp} control-plane + ${catalog.cluster.nodes.length - cp} worker nodes, ` +
            `${catalog.certificates.length} certificates, delivery ${catalog.cluster.delivery.mode}`,
        );
      }
      console.log(`${source}: ${plans.length} cluster(s), no problems`);
      return;
    }
    const out = path(values.out!);
    console.log(`kube-pki render: ${source} -> ${out}\n${RENDER_NOTICE}`);
    const rendered = await renderClusters(config.clusters, out, { log: (line) => console.log(line), force: values.force });
    for (const r of rendered)
      console.log(
        `${r.cluster}: ${Object.keys(r.nodes).length.toLocaleString("en-US")} nodes; operator kubeconfigs in ${out}/${r.cluster}/ (admin.conf, users/)`,
      );
  },
  (e) =>
    e instanceof ConfigError
      ? `${e.message}\nNothing was written.`
      : `kube-pki render: ${e instanceof Error ? e.message : e}\nNothing was written.`,
);
