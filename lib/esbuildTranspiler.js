/**
 * ts-node's transpiler for the project (tsconfig.json, `ts-node.transpiler`): each TypeScript file to
 * CommonJS by esbuild's `transformSync`, one file at a time as ts-node's own transpile-only mode does,
 * in a fraction of the time (the program's 60 files: about 0.15 s against TypeScript's 1.2 s; `npm run
 * bench:program`). Types are checked by `tsc --noEmit` (`npm test`), never at a run. ts-node's transpiler
 * interface: ts-node dist/transpilers/types.d.ts (`create(options) => { transpile(code, { fileName }) }`).
 *
 * JavaScript, not TypeScript: ts-node loads it before its own require hook is in place.
 */
"use strict";
const esbuild = require("esbuild");

/** TypeScript's ScriptTarget numbers (typescript.d.ts) as esbuild's and tsconfig's names. */
const TARGETS = { 7: "es2020", 8: "es2021", 9: "es2022", 10: "es2023", 11: "es2024", 99: "esnext" };
/** TypeScript's ModuleKind.CommonJS: the only output the project's Node.js runs take. */
const COMMONJS = 1;

exports.create = function create(createOptions) {
    const options = createOptions.service.config.options;
    const target = TARGETS[options.target];
    // The tsconfig settings that change what the output does: class fields are defined or assigned as
    // TypeScript would for the target (useDefineForClassFields), imports interoperate with CommonJS.
    const tsconfigRaw = {
        compilerOptions: {
            target,
            useDefineForClassFields: options.useDefineForClassFields,
            esModuleInterop: options.esModuleInterop,
            verbatimModuleSyntax: options.verbatimModuleSyntax,
        },
    };
    return {
        transpile(code, { fileName }) {
            // ts-node makes one transpiler per module kind it might force; only CommonJS is ever asked for here.
            if (options.module !== COMMONJS) throw new Error(`lib/esbuildTranspiler.js: ${fileName}: tsconfig module ${options.module} is not CommonJS (1); only CommonJS output is supported`);
            if (target === undefined) throw new Error(`lib/esbuildTranspiler.js: ${fileName}: tsconfig target ${options.target} is not one of ${Object.values(TARGETS).join(", ")}`);
            // `import()` as `require`, as TypeScript compiles it for CommonJS: Node's own import() resolves
            // ES-module style, with no extensionless paths and no ts-node hook (as lib/bundle.ts does).
            const r = esbuild.transformSync(code, { loader: fileName.endsWith(".tsx") ? "tsx" : "ts", format: "cjs", target, platform: "node", supported: { "dynamic-import": false }, sourcefile: fileName, sourcemap: "external", tsconfigRaw, logLevel: "silent" });
            return { outputText: r.code, sourceMapText: r.map };
        },
    };
};
