// The component package's entry point as the Pulumi component analyzer reads it (package.json "main" is index.js, whose
// .ts twin this is): the exported ComponentResource classes are the package's resources, their args its types. Only
// KubePki: every class exported here becomes a resource of the package.
export { KubePki } from "../components/package/kubePki";
export type { KubePkiArgs } from "../components/package/kubePki";
