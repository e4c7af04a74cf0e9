/**
 * akash-sim as a process of its own for the benchmark (its CPU apart from the bench's and the system's): starts
 * `startAkashSim` with the seed in the file named by argv[2], then prints one JSON line {chainUrl, providers}.
 */
import { readFileSync } from "node:fs";
import { startAkashSim, type AkashSimSeed } from "@shell-exec/akash-sim";

const seed = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as AkashSimSeed;
const sim = await startAkashSim({ seed, providerHttp: process.env.BENCH_SIM_HTTP === "1" });
console.log(JSON.stringify({ chainUrl: sim.chainUrl, providers: sim.providers.map(({ address, url, httpUrl, hostUri }) => ({ address, url, httpUrl, hostUri })) }));
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void sim.stop().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
