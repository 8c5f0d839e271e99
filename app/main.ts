/**
 * `npx ts-node --transpile-only app/main.ts --port 8080 --version 2.0.0 --errorRatio 0.2 --addedLatencyMs 30 --checkoutFailRatio 0.1`
 * Prints `listening <port>` once it accepts connections (port 0 picks a free one). Bad options, and a
 * port in use, exit 2 with one line saying why.
 */
import { numberOption, optionHelp, OptionSpec, parseOptions, stringOption } from "../lib/args";
import { exitOnProblem } from "../lib/system";
import { faultOptionSpecs, faultsFromOptions, hostOption, serveUntilTerminated } from "./faults";
import { createApp, DEFAULT_FAULTS, FAULT_RANGES } from "./server";

const OPTIONS: OptionSpec[] = [
    { name: "port", value: "N", help: "port on 127.0.0.1 (default 8080; 0 picks a free one)" },
    { name: "host", value: "IP", help: "the address to listen on (default 127.0.0.1; the lab gives each pod's process its pod IP)" },
    { name: "version", value: "V", help: "the version it reports (default 0.0.0)" },
    ...faultOptionSpecs(FAULT_RANGES, DEFAULT_FAULTS, {
        errorRatio: { value: "R", text: "share of requests answered 500" },
        addedLatencyMs: { value: "MS", text: "latency added to every request" },
        checkoutFailRatio: { value: "R", text: `share of GET /checkout answered {"ok":false} (declined)` },
    }),
    { name: "help", help: "this help" },
];

async function start(argv: readonly string[]): Promise<void> {
    const o = parseOptions(argv, OPTIONS, "app");
    if (o.help) {
        process.stdout.write(["usage: app/main.ts [options]; PUT /faults?errorRatio=R&addedLatencyMs=MS&checkoutFailRatio=R changes the faults at run time", ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const faults = faultsFromOptions(o, DEFAULT_FAULTS, FAULT_RANGES, "app");
    await serveUntilTerminated(createApp({ ...faults, version: stringOption(o, "version") ?? "0.0.0" }), numberOption(o, "port", 8080, 0, 65535, true), hostOption(o, "app"));
}

exitOnProblem(() => start(process.argv.slice(2)));
