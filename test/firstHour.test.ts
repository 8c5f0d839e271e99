/**
 * What a newcomer reads in the first hour stays true: the troubleshooting page's messages are the
 * ones the code prints, the README's diagram is a Mermaid flowchart GitHub can draw, and the
 * versions the README names are the ones the project pins.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { ROOT } from "../demo/host";

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** A quoted message: the source file it is checked against and the text as the page shows it. */
interface Quote {
    readonly source: string;
    readonly text: string;
}

/** Every `<!-- source: FILE -->` followed by a text block on the page. */
function quotes(page: string): Quote[] {
    return [...page.matchAll(/<!-- source: (\S+) -->\n```text\n([\s\S]*?)\n```/g)].map((m) => ({ source: m[1], text: m[2] }));
}

/**
 * The pieces of a quoted message the source must hold as they are: the text between the `<...>` the
 * code fills in, split at parentheses, semicolons and ": " (where the code joins strings it builds
 * apart), trimmed of the punctuation and quotes around them; pieces shorter than four characters say nothing.
 */
function literalPieces(text: string): string[] {
    return text
        .split(/<[^<>]*>|[();]|: /)
        .map((p) => p.replace(/^[\s:,."]+|[\s:,."]+$/g, ""))
        .filter((p) => p.length >= 4);
}

/**
 * A source file's text as its messages are printed: string concatenations across lines joined (`"a " +\n
 * "b"` is `a b`), and a shell's escaped quote or backtick (`\``) as the character.
 */
function joinedSource(text: string): string {
    return text.replace(/(["'`])\s*\+\s*\n\s*(["'`])/g, "").replace(/\\([`"$])/g, "$1");
}

describe("docs/troubleshooting.md", () => {
    const page = read("docs/troubleshooting.md");

    it("quotes each message as the code prints it: every piece of it is in the source file named", () => {
        const all = quotes(page);
        // The page's subjects: the tools, the skip, Inconclusive, Prometheus, a ROLLBACK, another project's keys.
        assert.ok(all.length >= 12, `${all.length} quoted messages`);
        const missing = all.flatMap((q) => {
            const source = joinedSource(read(q.source));
            return literalPieces(q.text)
                .filter((piece) => !source.includes(piece))
                .map((piece) => `${q.source}: ${JSON.stringify(piece)} (of ${JSON.stringify(q.text.slice(0, 60))}…)`);
        });
        assert.deepStrictEqual(missing, []);
    });

    it("the check can fail: a piece the code does not print is found missing", () => {
        assert.deepStrictEqual(literalPieces('<project>:weight = <weight> skips a stage: the stack (0 is rollback); set "<key>": now'), ["weight =", "skips a stage", "the stack", "0 is rollback"]);
        const stages = joinedSource(read("domain/stages.ts"));
        assert.ok(literalPieces("<project>:weight = <weight> skips a stage: the stack last applied weight <n>").every((p) => stages.includes(p)));
        assert.ok(!literalPieces("<project>:weight = <weight> jumps a stage").every((p) => stages.includes(p)));
        assert.strictEqual(joinedSource('x("a b " +\n    "c d")'), 'x("a b c d")');
        assert.strictEqual(joinedSource("echo \"run \\`npm ci\\`\""), 'echo "run `npm ci`"');
    });
});

/** The README's Mermaid blocks. */
const mermaidBlocks = (readme: string) => [...readme.matchAll(/^```mermaid\n([\s\S]*?)^```$/gm)].map((m) => m[1]);

/**
 * A minimal reading of a Mermaid flowchart: its direction line, its nodes (`id[label]`, `id(label)`,
 * `id{label}`, `id([label])`, `id[(label)]`, `id((label))`, declared once each), and the ids its edges
 * (`-->`, `-.->`, `==>`, with an optional `|label|` or `-- label -->`) join. Throws naming what it
 * cannot read: an unbalanced bracket or quote, an edge to an id that was never declared.
 */
function parseFlowchart(source: string): { nodes: Map<string, string>; edges: [string, string][] } {
    const lines = source
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "" && !l.startsWith("%%"));
    if (!/^(flowchart|graph) (TD|TB|LR|RL|BT)$/.test(lines[0] ?? "")) throw new Error(`the first line is not a flowchart's direction: ${JSON.stringify(lines[0])}`);
    const nodes = new Map<string, string>();
    const edges: [string, string][] = [];
    const pairs: Record<string, string> = { "[": "]", "(": ")", "{": "}" };
    for (const line of lines.slice(1)) {
        // Balanced brackets outside quotes, and quotes closed.
        const stack: string[] = [];
        let quoted = false;
        for (const ch of line) {
            if (ch === '"') quoted = !quoted;
            else if (quoted) continue;
            else if (pairs[ch]) stack.push(pairs[ch]);
            else if (ch === "]" || ch === ")" || ch === "}") {
                if (stack.pop() !== ch) throw new Error(`unbalanced ${ch} in ${JSON.stringify(line)}`);
            }
        }
        if (quoted || stack.length > 0) throw new Error(`unbalanced ${quoted ? "quote" : stack.join("")} in ${JSON.stringify(line)}`);
        if (/^(subgraph|end$|classDef|class|style|linkStyle|direction)\b/.test(line)) continue;
        // Node declarations: an id right before its shape's bracket.
        const declared = /(^|[\s&>|-])([A-Za-z]\w*)\s*(?:\(\[|\[\(|\(\(|\[|\(|\{)(?:"([^"]*)"|([^\]\)\}]*))(?:\]\)|\)\]|\)\)|\]|\)|\})/g;
        for (const m of line.matchAll(declared)) {
            const label = m[3] ?? m[4];
            if (nodes.has(m[2]) && nodes.get(m[2]) !== label) throw new Error(`node ${m[2]} declared twice with different labels`);
            nodes.set(m[2], label);
        }
        // Edges: the ids on either side of each arrow, the shapes and labels taken out.
        const bare = line
            .replace(/"[^"]*"/g, "")
            .replace(/(\(\[|\[\(|\(\(|\[|\(|\{)[^\]\)\}]*(\]\)|\)\]|\)\)|\]|\)|\})/g, "")
            .replace(/\|[^|]*\|/g, "")
            .replace(/--\s[^->]*?\s-->/g, "-->")
            .replace(/-\.\s[^.]*?\s\.->/g, "-.->");
        const ids = bare.split(/\s*(?:-->|-\.->|==>|---)\s*/);
        if (ids.length < 2) continue;
        const ends = ids.map((id) => id.trim());
        const bad = ends.find((id) => !/^[A-Za-z]\w*$/.test(id));
        if (bad !== undefined) throw new Error(`cannot read an edge's end ${JSON.stringify(bad)} in ${JSON.stringify(line)}`);
        for (let i = 0; i + 1 < ends.length; i++) edges.push([ends[i], ends[i + 1]]);
    }
    const unknown = edges.flat().filter((id) => !nodes.has(id));
    if (unknown.length > 0) throw new Error(`edges to undeclared nodes: ${[...new Set(unknown)].join(", ")}`);
    return { nodes, edges };
}

describe("the README", () => {
    const readme = read("README.md");

    it("draws a stage as a Mermaid flowchart: the PR, pulumi up, the route's weights, the AnalysisRun, the judge, Prometheus and the way back", () => {
        const blocks = mermaidBlocks(readme);
        assert.strictEqual(blocks.length, 1, "one Mermaid block");
        const { nodes, edges } = parseFlowchart(blocks[0]);
        // The parts named, in the nodes' and edges' labels.
        for (const part of [/PR\b/, /pulumi up/, /weights/, /AnalysisRun/, /judge/, /Prometheus/, /PROMOTE/, /ROLLBACK/]) assert.match(blocks[0], part);
        // Every node is on an edge: nothing drawn floats free.
        const linked = new Set(edges.flat());
        assert.deepStrictEqual([...nodes.keys()].filter((id) => !linked.has(id)), []);
        // The way back: some edge returns to a node an earlier edge left (a cycle through the rollback).
        assert.ok(
            edges.some(([, to], i) => edges.slice(0, i).some(([from]) => from === to)),
            "no edge goes back",
        );
    });

    it("a flowchart that does not parse is refused, naming why", () => {
        assert.throws(() => parseFlowchart("flowchart LR\n  A[one] --> B[two"), /unbalanced/);
        assert.throws(() => parseFlowchart("flowchart LR\n  A[one] --> C"), /undeclared nodes: C/);
        assert.throws(() => parseFlowchart("sequenceDiagram\n  A->>B: hi"), /direction/);
        assert.deepStrictEqual(parseFlowchart('flowchart LR\n  A["a (b)"] -->|yes| B{ok?}\n  B -. no .-> A').edges, [
            ["A", "B"],
            ["B", "A"],
        ]);
    });

    it("names the Node.js and Go the project pins: engines and .nvmrc, the newest go directive under tools/", () => {
        const engines = JSON.parse(read("package.json")).engines.node;
        assert.strictEqual(engines, ">=22");
        assert.strictEqual(read(".nvmrc").trim(), "22");
        const goVersions = fs
            .readdirSync(path.join(ROOT, "tools"))
            .filter((d) => fs.existsSync(path.join(ROOT, "tools", d, "go.mod")))
            .map((d) => /^go (\d+\.\d+)/m.exec(read(`tools/${d}/go.mod`))![1]);
        const newest = goVersions.sort((a, b) => Number(a.split(".")[1]) - Number(b.split(".")[1])).pop();
        assert.match(readme, /Node\.js 22\b/);
        assert.match(readme, new RegExp(`Go ${newest!.replace(".", "\\.")}\\b`));
        assert.doesNotMatch(readme, /Go 1\.2[0-5]\+/, "an older Go than the modules need");
    });

    it("leads with npm run try, then npm run demo, then npm test", () => {
        const at = (command: string) => readme.indexOf(`\n${command}\n`);
        const order = ["npm run try", "npm run demo", "npm test"].map(at);
        assert.ok(order.every((i) => i > 0), `each in a code block of its own: ${order}`);
        assert.deepStrictEqual([...order].sort((a, b) => a - b), order);
    });
});
