/** Entry point of `npm run rollout -- ...` and the `rollout` bin: the project is the current directory. */
import { defaultIo, main } from "./cli";

// `main` reports every error itself (one line, or a bug's stack trace) and resolves with the exit code.
main(process.argv.slice(2), defaultIo()).then((code) => process.exit(code));
