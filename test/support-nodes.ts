// The five-node topology of the SSH delivery tests, the e2e cluster and the delivery benchmark: three control-plane
// nodes and two workers, each on its own loopback address so that real servers can bind the node's address.

/** cp-1..cp-3 at `<net>`.11-13 and w-1, w-2 at `<net>`.21-22 (`net`: three octets of 127/8, e.g. `127.0.0`). */
export const fiveLoopbackNodes = (net: string) => [
  ...[1, 2, 3].map((i) => ({ name: `cp-${i}`, role: "control-plane" as const, address: `${net}.${10 + i}` })),
  ...[1, 2].map((i) => ({ name: `w-${i}`, role: "worker" as const, address: `${net}.${20 + i}` })),
];
