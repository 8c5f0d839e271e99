/**
 * `npx ts-node --transpile-only app/main.ts --port 8080 --version 2.0.0 --errorRatio 0.2 --addedLatencyMs 30`
 * Prints `listening <port>` once it accepts connections (port 0 picks a free one).
 */
import { createApp, parseFaults } from "./server";

const args = process.argv.slice(2);
const params = new URLSearchParams();
for (let i = 0; i < args.length; i += 2) params.set(args[i].replace(/^--/, ""), args[i + 1] ?? "");
const faults = parseFaults(params, { errorRatio: 0, addedLatencyMs: 0 });
const server = createApp({ ...faults, version: params.get("version") ?? "0.0.0" });
server.listen(Number(params.get("port") ?? 8080), "127.0.0.1", () => {
    const address = server.address();
    process.stdout.write(`listening ${typeof address === "object" && address ? address.port : ""}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
