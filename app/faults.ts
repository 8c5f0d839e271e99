/**
 * What the repo's own test services share: injected faults (each a number in a range, set by
 * `--<name>` at start and by `PUT /faults?<name>=<value>` at run time, a bad value refused with the
 * reason), and starting an entry point (listen on 127.0.0.1 or `--host`, print `listening <port>`, stop on
 * SIGTERM). The demo app (server.ts) and the orders service (orders.ts) each name their own faults.
 */
import type { Server } from "http";
import { isIP } from "net";
import { OptionSpec, Options, stringOption, UsageError } from "../lib/args";
import { listen } from "../lib/system";

/** The response header each test service answers with its version: how the lab's load tells which track a router sent a request to. */
export const VERSION_HEADER = "x-app-version";

/** Each fault's inclusive range, by name. */
export type FaultRanges<K extends string> = Readonly<Record<K, readonly [number, number]>>;
export type FaultValues<K extends string> = Readonly<Record<K, number>>;

/** Fault settings from query parameters over `base`; a bad value, or a key not in `ranges`, is an error naming it. */
export function parseFaultParams<K extends string>(params: URLSearchParams, base: FaultValues<K>, ranges: FaultRanges<K>): FaultValues<K> {
    const keys = Object.keys(ranges) as K[];
    for (const key of params.keys()) {
        if (!(keys as string[]).includes(key)) throw new Error(`unknown fault ${JSON.stringify(key)}: the faults are ${keys.join(", ")}`);
    }
    const out = {} as Record<K, number>;
    for (const key of keys) {
        const raw = params.get(key);
        if (raw === null) {
            out[key] = base[key];
            continue;
        }
        const [min, max] = ranges[key];
        const v = Number(raw);
        if (raw.trim() === "" || !Number.isFinite(v) || v < min || v > max) throw new Error(`${key}=${raw}: must be a number from ${min} to ${max}`);
        out[key] = v;
    }
    return out;
}

/**
 * `PUT /faults?<name>=<value>&…` over the `current` faults: 200 with the new faults, or 400 with the
 * reason and the faults unchanged (a bad value changes nothing; the service keeps serving).
 */
export function faultsUpdate<K extends string>(params: URLSearchParams, current: FaultValues<K>, ranges: FaultRanges<K>): { status: 200 | 400; faults: FaultValues<K>; body: string } {
    try {
        const faults = parseFaultParams(params, current, ranges);
        return { status: 200, faults, body: JSON.stringify(faults) };
    } catch (e) {
        return { status: 400, faults: current, body: JSON.stringify({ error: (e as Error).message, faults: current }) };
    }
}

/** The `--<fault>` option of each fault, its help from `help` with the range and the default added. */
export function faultOptionSpecs<K extends string>(ranges: FaultRanges<K>, defaults: FaultValues<K>, help: Readonly<Record<K, { value: string; text: string }>>): OptionSpec[] {
    return (Object.keys(ranges) as K[]).map((key) => ({ name: key, value: help[key].value, help: `${help[key].text}, ${ranges[key].join(" to ")} (default ${defaults[key]})` }));
}

/** The faults the command line sets over `defaults`; a bad one is a UsageError after `where: --`. */
export function faultsFromOptions<K extends string>(o: Options, defaults: FaultValues<K>, ranges: FaultRanges<K>, where: string): FaultValues<K> {
    const params = new URLSearchParams();
    for (const key of Object.keys(ranges)) {
        const v = stringOption(o, key);
        if (v !== undefined) params.set(key, v);
    }
    try {
        return parseFaultParams(params, defaults, ranges);
    } catch (e) {
        throw new UsageError(`${where}: --${(e as Error).message}`);
    }
}

/** `--host`: an IP address, 127.0.0.1 by default (a name would be resolved, and could leave the machine). */
export function hostOption(o: Options, where: string): string {
    const host = stringOption(o, "host") ?? "127.0.0.1";
    if (isIP(host) === 0) throw new UsageError(`${where}: --host ${JSON.stringify(host)} is not an IP address`);
    return host;
}

/**
 * Listens on `host`:`port` (0: a free one), prints `listening <port>` once connections are
 * accepted (what the lab and the tests wait for), and on SIGTERM stops accepting and exits 0 once the
 * open requests are answered, as a pod's container is stopped.
 */
export async function serveUntilTerminated(server: Server, port: number, host = "127.0.0.1"): Promise<void> {
    const address = await listen(server, host, port, "--port N (0 picks a free one)");
    process.stdout.write(`listening ${address.port}\n`);
    // http.Server's close() also closes the idle kept-alive connections (Node.js 19+), so none holds it open.
    process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
