/**
 * `ORDERS_API_KEY=… npx ts-node --transpile-only app/ordersMain.ts --port 8090 --version 1.4.0 --errorRatio 0.2 --addedLatencyMs 30`
 * The orders service (app/orders.ts). Prints `listening <port>` once it accepts connections (port 0
 * picks a free one). Without its API key in the environment, with a bad option or on a port in use it
 * exits 2 with one line saying why.
 */
import { numberOption, optionHelp, OptionSpec, parseOptions, stringOption } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { faultOptionSpecs, faultsFromOptions, hostOption, serveUntilTerminated } from "./faults";
import { API_KEY_ENV, apiKeyFrom, createOrders, ORDERS_DEFAULT_FAULTS, ORDERS_FAULT_RANGES, ORDERS_PATHS } from "./orders";

/** Its own default port: neither podinfo's 9898 nor the demo app's and the judge's 8080. */
export const ORDERS_PORT = 8090;

const OPTIONS: OptionSpec[] = [
    { name: "port", value: "N", help: `port on 127.0.0.1 (default ${ORDERS_PORT}; 0 picks a free one)` },
    { name: "host", value: "IP", help: "the address to listen on (default 127.0.0.1; the lab gives each pod's process its pod IP)" },
    { name: "version", value: "V", help: "the version it reports as service.version (default 0.0.0)" },
    ...faultOptionSpecs(ORDERS_FAULT_RANGES, ORDERS_DEFAULT_FAULTS, {
        errorRatio: { value: "R", text: "share of /orders requests answered 500" },
        addedLatencyMs: { value: "MS", text: "latency added to every /orders request" },
    }),
    { name: "help", help: "this help" },
];

async function start(argv: readonly string[]): Promise<void> {
    const o = parseOptions(argv, OPTIONS, "orders");
    if (o.help) {
        const usage = `usage: ${API_KEY_ENV}=<key> app/ordersMain.ts [options]; GET/POST /orders, GET /orders/:id; probes ${ORDERS_PATHS.readiness} and ${ORDERS_PATHS.liveness}; ${ORDERS_PATHS.metrics}; PUT /faults?errorRatio=R&addedLatencyMs=MS with Authorization: Bearer <key>`;
        process.stdout.write([usage, ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const faults = faultsFromOptions(o, ORDERS_DEFAULT_FAULTS, ORDERS_FAULT_RANGES, "orders");
    const orders = createOrders({ ...faults, version: stringOption(o, "version") ?? "0.0.0", apiKey: apiKeyFrom(process.env) });
    await serveUntilTerminated(orders.server, numberOption(o, "port", ORDERS_PORT, 0, 65535, true), hostOption(o, "orders"));
}

exitOnProblem(() => start(process.argv.slice(2)));
