/**
 * What the machine said, in one line for a person: the errors Node.js raises for a system call (a
 * port in use, an address not on this host, a file that is missing, a directory or unreadable), and
 * listening that fails that way. The entry points print these lines and exit 2, never a stack trace.
 */
import type { AddressInfo } from "net";
import type { Server } from "net";
import { UsageError } from "./args";

/** Why a system call failed, by its errno code (`man 3 errno`), for the codes a user can cause or mend. */
const REASONS: Readonly<Record<string, string>> = {
    EADDRINUSE: "the port is in use by another process",
    EADDRNOTAVAIL: "the address is not one of this host's",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EISDIR: "it is a directory, not a file",
    ENOTDIR: "a part of the path is not a directory",
    ENOENT: "no such file or directory",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "the disk quota is exceeded",
    EMFILE: "too many open files",
    ENOTFOUND: "no such host name",
    EAI_AGAIN: "the host name could not be resolved now",
};

type SystemError = NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string; dest?: string };

/** Node.js's own errors of a system call carry `code` and `syscall`; nothing else does. */
const isSystemError = (e: unknown): e is SystemError => e instanceof Error && typeof (e as SystemError).code === "string" && typeof (e as SystemError).syscall === "string";

/** `host:port`, IPv6 in brackets as in a URL. */
export const hostPort = (host: string, port: number | string) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** What the failed call was doing, from the error itself, when the caller does not say. */
function subjectOf(e: SystemError): string {
    if (e.syscall === "listen" || e.syscall === "bind") return `cannot listen on ${hostPort(e.address ?? "?", e.port ?? "?")}`;
    if (e.syscall === "getaddrinfo") return `cannot resolve ${e.hostname ?? "the host name"}`;
    if (e.syscall === "uv_cwd") return "cannot read the current directory";
    if (e.syscall === "rename" && e.path) return `cannot rename ${e.path} to ${e.dest ?? "?"}`;
    return e.path ? `cannot ${e.syscall} ${e.path}` : `${e.syscall} failed`;
}

/**
 * One line for a system error, `subject` (e.g. "cannot read Pulumi.dev.yaml") saying what failed:
 * `cannot read /x/Pulumi.dev.yaml: it is a directory, not a file (EISDIR)`. Undefined for any other
 * error: that one is a bug, and its stack trace is worth printing.
 */
export function systemProblem(e: unknown, subject?: string): string | undefined {
    if (!isSystemError(e)) return undefined;
    const code = e.code as string;
    const reason = REASONS[code] ?? e.message.split("\n")[0].replace(new RegExp(`^${code}: `), "");
    return `${subject ?? subjectOf(e)}: ${reason} (${code})`;
}

/** The line an entry point prints for a usage error or the machine's state; undefined for a bug. */
export function problemOf(e: unknown): string | undefined {
    return e instanceof UsageError ? e.message : systemProblem(e);
}

/**
 * Starts listening on `host:port` (port 0: any free one) and resolves with the address it got. A port
 * in use, an address not on this host or a port it may not open is a UsageError naming the address,
 * with `option` (`--listen HOST:PORT`), the option that chose it.
 */
export function listen(server: Server, host: string, port: number, option: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
        const failed = (e: Error) => {
            const problem = systemProblem(e, `cannot listen on ${hostPort(host, port)}`);
            reject(problem === undefined ? e : new UsageError(`${problem}; choose another with ${option}`));
        };
        server.once("error", failed);
        server.listen(port, host, () => {
            server.off("error", failed);
            resolve(server.address() as AddressInfo);
        });
    });
}

/**
 * Runs an entry point's main: a usage error or the machine's state (thrown, or rejected by the promise
 * `main` returns) prints one line after `prefix` and exits 2, with no stack trace; a bug propagates.
 */
export function exitOnProblem(main: () => unknown, prefix = ""): void {
    const fail = (e: unknown) => {
        const problem = problemOf(e);
        if (problem === undefined) throw e;
        process.stderr.write(`${prefix}${problem}\n`);
        process.exit(2);
    };
    try {
        const result = main();
        if (result instanceof Promise) result.catch(fail);
    } catch (e) {
        fail(e);
    }
}
