/**
 * `npx ts-node --transpile-only app/main.ts --port 8080 --version 2.0.0 --errorRatio 0.2 --addedLatencyMs 30 --checkoutFailRatio 0.1`
 * Prints `listening <port>` once it accepts connections (port 0 picks a free one). Bad options, and a
 * port in use, exit 2 with one line saying why.
 */
import { numberOption, optionHelp, OptionSpec, parseOptions, stringOption, UsageError } from "../lib/args";
import { exitOnProblem, listen } from "../lib/system";
import { createApp, DEFAULT_FAULTS, FAULT_RANGES, parseFaults } from "./server";

const OPTIONS: OptionSpec[] = [
    { name: "port", value: "N", help: "port on 127.0.0.1 (default 8080; 0 picks a free one)" },
    { name: "version", value: "V", help: "the version it reports (default 0.0.0)" },
    { name: "errorRatio", value: "R", help: `share of requests answered 500, ${FAULT_RANGES.errorRatio.join(" to ")} (default 0)` },
    { name: "addedLatencyMs", value: "MS", help: `latency added to every request, ${FAULT_RANGES.addedLatencyMs.join(" to ")} (default 0)` },
    { name: "checkoutFailRatio", value: "R", help: `share of GET /checkout answered {"ok":false} (declined), ${FAULT_RANGES.checkoutFailRatio.join(" to ")} (default ${DEFAULT_FAULTS.checkoutFailRatio})` },
    { name: "help", help: "this help" },
];

async function start(argv: readonly string[]): Promise<void> {
    const o = parseOptions(argv, OPTIONS, "app");
    if (o.help) {
        process.stdout.write(["usage: app/main.ts [options]; PUT /faults?errorRatio=R&addedLatencyMs=MS&checkoutFailRatio=R changes the faults at run time", ...optionHelp(OPTIONS)].join("\n") + "\n");
        return;
    }
    const faultParams = new URLSearchParams();
    for (const key of Object.keys(FAULT_RANGES)) {
        const v = stringOption(o, key);
        if (v !== undefined) faultParams.set(key, v);
    }
    let faults;
    try {
        faults = parseFaults(faultParams, DEFAULT_FAULTS);
    } catch (e) {
        throw new UsageError(`app: --${(e as Error).message}`);
    }
    const server = createApp({ ...faults, version: stringOption(o, "version") ?? "0.0.0" });
    const address = await listen(server, "127.0.0.1", numberOption(o, "port", 8080, 0, 65535, true), "--port N (0 picks a free one)");
    process.stdout.write(`listening ${address.port}\n`);
    process.on("SIGTERM", () => server.close(() => process.exit(0)));
}

exitOnProblem(() => start(process.argv.slice(2)));
