/**
 * Base URLs: where a client appends a path (the judge's Prometheus `/api/v1/query`, the stage's
 * analysis `/judge`, an alert's runbook `/<alert>.md`). One rule for the stack config and the
 * command's options, so the config cannot validate a URL that the judge then refuses at its start.
 */

/**
 * Why `value` is not an http(s) base URL a path can be appended to, or undefined when it is one:
 * a query or fragment (`?y=1#z`) would end up in front of the appended path; credentials are refused
 * by Node's fetch ("Request cannot be constructed from a URL that includes credentials") and would
 * stand in the clear in the resources the URL is written into; whitespace and control characters are
 * dropped or kept by URL parsers as each sees fit (WHATWG URL removes a newline, a config file keeps it).
 */
export function baseUrlProblem(value: string): string | undefined {
    if (/[\s\p{Cc}]/u.test(value)) return "it contains whitespace or a control character";
    let url: URL;
    try {
        url = new URL(value);
    } catch {
        return "it is not a URL: write it with its scheme";
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `its scheme is ${url.protocol.replace(/:$/, "")}, not http or https`;
    // The WHATWG URL keeps an empty `?` or `#` in href but not in search or hash: the text decides.
    if (value.includes("?")) return "it has a query (?...)";
    if (value.includes("#")) return "it has a fragment (#...)";
    if (url.username !== "" || url.password !== "") return "it has a user name or password";
    return undefined;
}
