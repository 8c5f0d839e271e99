/** Entry point of `npm run rollout -- ...` and the `rollout` bin: the project is the current directory. */
import { defaultIo, main } from "./cli";

main(process.argv.slice(2), defaultIo(process.cwd())).then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`rollout: ${(e as Error).stack ?? e}\n`);
        process.exit(2);
    },
);
