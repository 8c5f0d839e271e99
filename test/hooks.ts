/** Mocha root hooks: whatever the suites left in the temp dir is removed once the run ends. */
import { removeTempDirs } from "./tools";

export const mochaHooks = {
    afterAll(): void {
        removeTempDirs();
    },
};
